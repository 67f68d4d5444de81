"""The LLM judge: another model grades a response against the reference answer.

The judge gets a rubric template filled with the question, the response, the
reference answer and the rubric (plus any field of the row), and must end
with ``VERDICT: CORRECT`` / ``VERDICT: INCORRECT`` and, optionally, a score
such as ``SCORE: 7/10``. Parsing is lenient about markdown, brackets and
case; a judge reply with no verdict (or, in ``score`` mode, no score) is an
extraction failure, never a silent zero. The judge's prompt, reply, tokens,
latency and cost go into the details; its cost is also ``Score.cost_usd`` so
the record keeps it apart from the benchmarked model's (``judge_cost_usd``).

The default template wraps the parts in ``<question>``, ``<reference>`` and
``<response>`` tags; the simulator's ``judge`` model reads those tags.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from pytest_llmbench.errors import ConfigError
from pytest_llmbench.providers.base import ChatRequest, Completion
from pytest_llmbench.scoring.base import Score, register_scorer
from pytest_llmbench.scoring.context import ScoringContext
from pytest_llmbench.scoring.reasoning import split_reasoning
from pytest_llmbench.suites.model import Case, placeholders, render

DEFAULT_RUBRIC = ("The response is correct if its final answer agrees with the reference "
                  "answer; wording, formatting and extra explanation do not matter.")

DEFAULT_TEMPLATE = """You are grading a response to a question against a reference answer.

<question>
{question}
</question>

<reference>
{reference}
</reference>

<response>
{response}
</response>

Rubric: {rubric}

Explain your reasoning in one or two sentences, then end with two lines:
VERDICT: CORRECT or VERDICT: INCORRECT
SCORE: N/10 (how well the response meets the rubric)"""

_WORDS = r"(not\s+correct|incorrect|correct|pass(?:ed)?|fail(?:ed)?|yes|no|right|wrong)"
_VERDICT = re.compile(r"verdict\s*[:=\-]?\s*[\s*_\[\"'(]*" + _WORDS + r"\b", re.IGNORECASE)
_BARE = re.compile(r"^[\s*_\[\"'(]*" + _WORDS + r"[\s*_\]\"'.)!]*$", re.IGNORECASE)
_NUM = r"(-?\d+(?:\.\d+)?)"
_SCORE_OF = re.compile(r"(?:score|rating|grade)\s*[:=]?\s*[\s*_\[]*" + _NUM +
                       r"\s*(?:/|out\s+of)\s*" + _NUM, re.IGNORECASE)
_SCORE_BRACKETS = re.compile(r"\[\[\s*" + _NUM + r"\s*\]\]")
_SCORE_PLAIN = re.compile(r"(?:score|rating|grade)\s*[:=]\s*[\s*_\[]*" + _NUM, re.IGNORECASE)
_POSITIVE = {"correct", "pass", "passed", "yes", "right"}
MODES = ("verdict", "score")


@dataclass(frozen=True)
class Verdict:
    """What a judge's reply says: a verdict, a score (as a fraction) or neither."""

    correct: bool | None
    score: float | None
    raw_score: str | None = None


def parse_verdict(text: str, scale: float = 10.0) -> Verdict:
    """The last verdict and the last score in a judge's reply (reasoning comes first)."""
    text = split_reasoning(text).answer
    correct: bool | None = None
    matches = list(_VERDICT.finditer(text))
    word = matches[-1].group(1) if matches else None
    if word is None:
        lines = [line for line in text.strip().splitlines() if line.strip()]
        bare = _BARE.match(lines[-1]) if lines else None
        word = bare.group(1) if bare else None
    if word is not None:
        correct = " ".join(word.lower().split()) in _POSITIVE
    score = raw = None
    of = list(_SCORE_OF.finditer(text))
    if of:
        value, top = float(of[-1].group(1)), float(of[-1].group(2))
        score, raw = (value / top if top > 0 else None), f"{of[-1].group(1)}/{of[-1].group(2)}"
    else:
        single = list(_SCORE_BRACKETS.finditer(text)) or list(_SCORE_PLAIN.finditer(text))
        if single:
            raw = single[-1].group(1)
            score = float(raw) / scale
    if score is not None:
        score = min(1.0, max(0.0, score))
    return Verdict(correct, score, raw)


class JudgeScorer:
    """``scorer: {name: judge, model: ..., rubric: ..., template: ..., mode: verdict}``."""

    thread_safe = True

    def __init__(self, context: ScoringContext, model: str | None = None,
                 default_model: str | None = None, rubric: str = DEFAULT_RUBRIC,
                 template: str = DEFAULT_TEMPLATE,
                 mode: str = "verdict", scale: float = 10.0, threshold: float = 0.5,
                 params: dict[str, Any] | None = None, system: str | None = None) -> None:
        if mode not in MODES:
            raise ConfigError(f"judge: mode must be one of {', '.join(MODES)}, not {mode!r}")
        if "response" not in placeholders(template):
            raise ConfigError("judge: the template must contain {response}")
        self.context = context
        # default_model: a suite's fallback judge, used only when the run names none
        self.model = context.judge_model(model or (None if context.judge else default_model),
                                         "judge scorer")
        self.rubric = rubric
        self.template = template
        self.mode = mode
        self.scale = float(scale)
        self.threshold = float(threshold)
        self.params = {"temperature": 0, "max_tokens": 512, **self.model.params,
                       **(params or {})}
        self.system = system

    def prompt(self, response: str, case: Case) -> str:
        reference = case.expected if not isinstance(case.expected, list) else " | ".join(
            str(e) for e in case.expected)
        fields = {**case.row, "question": self.context.prompt_of(case), "response": response,
                  "reference": "" if reference is None else str(reference),
                  "rubric": self.rubric}
        try:  # the rubric may use row fields too (a per-question criterion)
            fields["rubric"] = render(self.rubric, fields)
            return render(self.template, fields)
        except KeyError as exc:
            raise ConfigError(f"judge: template field {exc} is neither a row field nor one of "
                              "question, response, reference, rubric") from None

    def __call__(self, response: str, case: Case) -> Score:
        prompt = self.prompt(response.strip(), case)
        messages = [{"role": "system", "content": self.system}] if self.system else []
        messages.append({"role": "user", "content": prompt})
        request = ChatRequest(model=self.model, messages=messages, params=self.params,
                              metadata={"judge_of": f"{case.suite}/{case.id}"})
        reply = self.context.call(request)
        verdict = parse_verdict(reply.text, self.scale)
        details: dict[str, Any] = {"judge": _judge_details(self.model.name, prompt, reply),
                                   "verdict": None if verdict.correct is None else (
                                       "correct" if verdict.correct else "incorrect"),
                                   "judge_score": verdict.score}
        if self.mode == "score":
            failed = verdict.score is None
            value = verdict.score or 0.0
            passed = not failed and value >= self.threshold
        else:
            failed = verdict.correct is None
            passed = bool(verdict.correct)
            value = 1.0 if passed else 0.0
        details.update(extracted=details["verdict"] if self.mode == "verdict" else
                       verdict.raw_score, extraction_failed=failed)
        return Score(value, passed, details, cost_usd=reply.cost_usd)


def _judge_details(model: str, prompt: str, reply: Completion) -> dict[str, Any]:
    return {"model": model, "prompt": prompt, "output": reply.text,
            "input_tokens": reply.input_tokens, "output_tokens": reply.output_tokens,
            "latency_s": reply.latency_s, "cost_usd": reply.cost_usd}


@register_scorer("judge")
def judge(context: ScoringContext, **options: Any) -> JudgeScorer:
    return JudgeScorer(context, **options)
