"""What one benchmark test did: its calls, score and metrics, turned into a Record.

``ItemRecorder`` is the ``bench_record`` fixture; ``LLMClient`` is the ``llm``
fixture, a client bound to the item's model whose every call is measured and
recorded.
"""

from __future__ import annotations

import time
from typing import Any

from pytest_llmbench.config import ModelSpec, redact
from pytest_llmbench.errors import LLMBenchError, ProviderError, WrongAnswer
from pytest_llmbench.plugin.session import LLMBenchSession
from pytest_llmbench.providers.base import ChatRequest, Completion
from pytest_llmbench.results.record import Record
from pytest_llmbench.results.throughput import median_rate
from pytest_llmbench.scoring.base import Score, as_score
from pytest_llmbench.scoring.passk import aggregate, score_samples
from pytest_llmbench.scoring.reasoning import is_truncated, prepare_answer
from pytest_llmbench.suites.model import Case, Suite
from pytest_llmbench.suites.variants import Variant

_RESPONSE_LIMIT = 20_000


class ItemRecorder:
    """Collects one test's calls, score and custom metrics (the ``bench_record`` fixture)."""

    def __init__(self, session: LLMBenchSession, model: ModelSpec | None, case: Case | None,
                 suite: Suite | None, name: str) -> None:
        self.session = session
        self.model = model
        self.case = case
        self.suite = suite
        self.name = name
        self.calls: list[tuple[ChatRequest, Completion]] = []
        self.samples: list[Completion] = []  # the item's n completions (--llmbench-samples)
        self.score: Score | None = None
        self.metrics: dict[str, Any] = {}
        self.error: ProviderError | None = None
        self.variant: Variant | None = None  # the prompt variant asked with
        self.single_call_figures = True
        """False for items of many turns (agents): no one call's latency, TTFT or tokens/s
        stands for the item, so the record leaves them absent (its metrics say more)."""
        self.started_at = time.time()

    def metric(self, name: str, value: Any) -> None:
        """Record a custom metric (a number, string or small JSON-able value)."""
        self.metrics[name] = value

    def set_score(self, value: Score | bool | float, **details: Any) -> Score:
        score = as_score(value)
        score.details.update(details)
        self.score = score
        return score

    def _sent_params(self) -> dict[str, Any]:
        """The generation params the item's request carried: suite, then model, then
        variant settings merged (what would have been sent when the call failed)."""
        if self.calls:
            return dict(self.calls[0][0].params)
        if self.model is None:
            return {}
        if self.case is not None and self.suite is not None:
            try:
                return dict(self.session.request_for(self.model, self.case,
                                                     variant=self.variant).params)
            except LLMBenchError:  # an optimizer that could not fit: no variant params
                return {**self.suite.params, **self.model.params}
        return dict(self.model.params)

    def add_call(self, request: ChatRequest, completion: Completion) -> None:
        self.calls.append((request, completion))

    def check(self, completion: Completion) -> Score:
        """Score a response (every sample, when there are several) with the suite's
        scorer; a wrong answer fails the test."""
        assert self.suite is not None and self.case is not None
        scorer = self.session.scorer_for(self.suite)
        samples = self.samples if len(self.samples) > 1 else [completion]
        prepared = [prepare_answer(c) for c in samples]  # thinking stripped, truncation flagged
        if len(samples) > 1:
            scores = score_samples(scorer, [answer for answer, _ in prepared], self.case)
            for sample_score, (_, notes) in zip(scores, prepared, strict=True):
                sample_score.details.update(notes)
            score = self.set_score(aggregate(scores, [c.text for c in samples],
                                             self.suite.pass_at))
        else:
            answer, notes = prepared[0]
            score = self.set_score(as_score(scorer(answer, self.case)), **notes)
        if not score.passed and not self.session.score_only:
            if len(samples) > 1:
                raise WrongAnswer(f"wrong answer: 0/{len(samples)} samples passed "
                                  f"(first response: {_clip(completion.text, 120)!r})")
            raise WrongAnswer(_wrong_answer(score, self.case.expected, completion.text))
        return score

    def record(self, outcome: str, error: str | None, error_kind: str | None,
               nodeid: str, duration: float | None) -> Record:
        record = Record(
            run_id=self.session.run_id, nodeid=nodeid,
            suite=self.suite.name if self.suite else self.name,
            case_id=self.case.id if self.case else self.name,
            model=self.model.name if self.model else "", outcome=outcome,
            variant=self.variant.name if self.variant else None,
            provider=self.model.provider if self.model else "",
            target=self.model.target if self.model else None,
            error=error, error_kind=error_kind, metrics=self.metrics,
            expected=self.case.expected if self.case else None,
            params=redact(self._sent_params()),
            started_at=self.started_at, finished_at=time.time(), duration_s=duration,
            worker=self.session.worker, calls=len(self.calls),
        )
        if self.score is not None:
            record.score = self.score.value
            record.score_details = _clip_details(self.score.details)
            record.extraction_failed = self.score.extraction_failed
            record.judge_cost_usd = self.score.cost_usd
            if outcome == "passed" and not self.score.passed:
                record.outcome = "failed"  # --llmbench-score-only: recorded, not raised
        if self.calls:
            _add_calls(record, self.calls)
            if len(self.samples) > 1:  # parallel samples: per-call times, not their sum
                live = [c for c in self.samples if not c.cached]
                record.latency_s = _mean(c.latency_s for c in live) if live else None
                record.ttft_s = _mean(c.ttft_s for c in live) if live else None
        elif self.case is not None and self.suite is not None:
            record.prompt = self.suite.messages(self.case)
            if self.variant is not None and self.model is not None:
                try:  # the variant's prompt, when it could be built
                    record.prompt = self.session.request_for(self.model, self.case, 0,
                                                             self.variant).messages
                except LLMBenchError:
                    pass
        if self.error is not None:  # the failed call's attempts count too
            record.attempts += self.error.attempts
        if not self.single_call_figures:
            record.latency_s = record.ttft_s = record.output_tps = None
            record.reasoning_ttft_s = None
        return record


def _add_calls(record: Record, calls: list[tuple[ChatRequest, Completion]]) -> None:
    """Sums over the item's calls; times only from calls really made (a cached or replayed
    answer's stored times measure another run: absent here, never stale)."""
    first_request, first = calls[0]
    last = calls[-1][1]
    record.prompt = first_request.messages
    record.response = _clip(last.text, _RESPONSE_LIMIT)
    measured = [c for _, c in calls if not c.cached]
    timed = measured[0] if measured else None
    record.ttft_s = timed.ttft_s if timed else None
    record.finish_reason = last.finish_reason
    record.truncated = is_truncated(last.finish_reason)
    record.reasoning = _clip(last.reasoning, _RESPONSE_LIMIT) if last.reasoning else None
    record.reasoning_ttft_s = timed.reasoning_ttft_s if timed else None
    record.batch = any(c.batch for _, c in calls)
    record.cost_basis = next((c.cost_basis for _, c in calls if c.cost_basis), None)
    if len(calls) == 1:  # the common case, without the sums below
        record.input_tokens, record.output_tokens = first.input_tokens, first.output_tokens
        record.tokens_estimated = first.tokens_estimated
        record.latency_s = timed.latency_s if timed else None
        record.output_tps = timed.output_tps if timed else None
        record.attempts, record.cached_calls = first.attempts, int(first.cached)
        record.cost_usd = first.cost_usd
        record.reasoning_tokens = first.reasoning_tokens
        record.reasoning_tokens_estimated = first.reasoning_tokens_estimated
        return
    completions = [c for _, c in calls]
    record.input_tokens = _sum(c.input_tokens for c in completions)
    record.output_tokens = _sum(c.output_tokens for c in completions)
    record.tokens_estimated = any(c.tokens_estimated for c in completions)
    record.latency_s = _sum(c.latency_s for c in measured) if measured else None
    record.output_tps = median_rate(c.output_tps for c in measured)
    record.attempts = sum(c.attempts for c in completions)
    record.cached_calls = sum(1 for c in completions if c.cached)
    costs = [c.cost_usd for c in completions]
    record.cost_usd = None if any(c is None for c in costs) else sum(costs)  # type: ignore[arg-type]
    record.reasoning_tokens = _sum(c.reasoning_tokens for c in completions)
    record.reasoning_tokens_estimated = any(c.reasoning_tokens_estimated for c in completions)


def _wrong_answer(score: Score, expected: Any, response: str) -> str:
    """The cause in one line: the code's own error, the expected number, the judge's
    verdict and reason; never the reference solution or the whole worked answer."""
    details = score.details
    reason = details.get("reason")
    if "status" in details and "stderr" in details:  # code: its own error, else the harness's
        reason = f"code {details['status']}: {_code_error(details, reason)}"
    elif reason is None and isinstance(details.get("judge"), dict):
        judge = details["judge"]
        verdict = details.get("verdict") or (f"score {details.get('judge_score')}"
                                             if details.get("judge_score") is not None
                                             else "no verdict")
        reason = f"judge {judge.get('model')} said {verdict}: " \
                 f"{_clip(' '.join(str(judge.get('output') or '').split()), 160)!r}"
    if reason is None:
        if details.get("expected_normalised"):  # numeric: the number, not the worked solution
            expected = [_number(v) for v in details["expected_normalised"]]
            expected = expected[0] if len(expected) == 1 else expected
        extracted = details.get("extracted")
        got = "no answer extracted" if score.extraction_failed else f"got {extracted!r}"
        reason = f"expected {_clip(repr(expected), 120)}, {got}"
    if score.details.get("truncated"):
        reason += ", truncated at max_tokens"
    return f"wrong answer: {reason} (response: {_clip(response, 120)!r})"


def _number(value: Any) -> str:
    """``18`` for 18.0: the expected number as the dataset would write it."""
    return str(int(value)) if isinstance(value, float) and value.is_integer() else str(value)


def _code_error(details: dict[str, Any], harness_reason: Any = None) -> str:
    """The last error line of the generated code's run (``IndentationError: ...``, the
    failing assertion), else why the test harness failed it (an early exit, no report),
    else its last line or exit code."""
    lines = [line.strip() for line in str(details.get("stderr") or "").splitlines()
             if line.strip()]
    for line in reversed(lines):
        head = line.split(":", 1)[0]
        if head.endswith(("Error", "Exception", "Interrupt")) or head == "AssertionError":
            return _clip(line, 160)
    if harness_reason:
        return _clip(str(harness_reason), 160)
    if lines:
        return _clip(lines[-1], 160)
    return f"exit code {details.get('exit_code')}"


def _mean(values: Any) -> float | None:
    items = [v for v in values if v is not None]
    return sum(items) / len(items) if items else None


def _sum(values: Any) -> Any:
    items = [v for v in values if v is not None]
    return sum(items) if items else None


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[:limit] + "…"


def _clip_details(value: Any, depth: int = 0) -> Any:
    """Score details with every long string clipped like the response (a scorer may keep
    the whole normalised answer: a 20 MB response must not be stored twice, whole)."""
    if isinstance(value, str):
        return _clip(value, _RESPONSE_LIMIT)
    if depth > 8:
        return value
    if isinstance(value, dict):
        return {k: _clip_details(v, depth + 1) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clip_details(v, depth + 1) for v in value]
    return value


class LLMClient:
    """A client bound to the test's model (the ``llm`` fixture); every call is recorded."""

    def __init__(self, session: LLMBenchSession, model: ModelSpec, recorder: ItemRecorder) -> None:
        self.session = session
        self.model = model
        self.recorder = recorder

    def _request(self, messages: list[dict[str, str]], params: dict[str, Any]) -> ChatRequest:
        case = self.recorder.case
        metadata = ({"suite": case.suite, "case_id": case.id, "expected": case.expected}
                    if case else {})
        return ChatRequest(model=self.model, messages=messages,
                           params={**self.model.params, **params}, metadata=metadata)

    @staticmethod
    def _messages(prompt: str, system: str | None) -> list[dict[str, str]]:
        msgs = [{"role": "system", "content": system}] if system else []
        return msgs + [{"role": "user", "content": prompt}]

    def chat(self, messages: list[dict[str, str]], **params: Any) -> Completion:
        request = self._request(messages, params)
        return self._done(request, lambda: self.session.engine.call(request))

    def complete(self, prompt: str, *, system: str | None = None, **params: Any) -> Completion:
        return self.chat(self._messages(prompt, system), **params)

    async def achat(self, messages: list[dict[str, str]], **params: Any) -> Completion:
        request = self._request(messages, params)
        try:
            completion = await self.session.engine.acall(request)
        except ProviderError as exc:
            self.recorder.error = exc
            raise
        self.recorder.add_call(request, completion)
        return completion

    async def acomplete(self, prompt: str, *, system: str | None = None,
                        **params: Any) -> Completion:
        return await self.achat(self._messages(prompt, system), **params)

    def _done(self, request: ChatRequest, call: Any) -> Completion:
        try:
            completion: Completion = call()
        except ProviderError as exc:
            self.recorder.error = exc
            raise
        self.recorder.add_call(request, completion)
        return completion
