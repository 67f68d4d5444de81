"""The fixtures benchmarks use: llm_model, bench_case, bench_suite, bench_response,
bench_record and llm."""

from __future__ import annotations

from typing import Any

import pytest

from pytest_llmbench.config import ModelSpec
from pytest_llmbench.errors import ProviderError
from pytest_llmbench.providers.base import Completion
from pytest_llmbench.recorder import ItemRecorder, LLMClient
from pytest_llmbench.stash import RECORDER, bench_session
from pytest_llmbench.suites.model import Case, Suite


def recorder_for(item: pytest.Item) -> ItemRecorder | None:
    """The item's recorder, created on first use; None for tests that are not benchmarks."""
    recorder = item.stash.get(RECORDER, None)
    if recorder is not None:
        return recorder
    callspec = getattr(item, "callspec", None)
    params = callspec.params if callspec is not None else {}
    model = params.get("llm_model")
    if not isinstance(model, ModelSpec):
        return None
    case = params.get("bench_case")
    session = bench_session(item.config)
    suite = session.suite_of(case) if isinstance(case, Case) else None
    recorder = ItemRecorder(session, model, case if isinstance(case, Case) else None, suite,
                            name=getattr(item, "originalname", item.name))
    item.stash[RECORDER] = recorder
    return recorder


@pytest.fixture
def llm_model(request: pytest.FixtureRequest) -> ModelSpec:
    """The model this test runs against (one test per model)."""
    return request.param  # type: ignore[no-any-return]


@pytest.fixture
def bench_case(request: pytest.FixtureRequest, llm_model: ModelSpec) -> Case:
    """The benchmark case (dataset row) this test runs; depends on ``llm_model`` because
    every case runs once per model."""
    return request.param  # type: ignore[no-any-return]


@pytest.fixture
def bench_suite(request: pytest.FixtureRequest, bench_case: Case) -> Suite:
    """The suite the case belongs to (template, scorer, params)."""
    return bench_session(request.config).suite_of(bench_case)


@pytest.fixture
def bench_record(request: pytest.FixtureRequest, llm_model: ModelSpec) -> ItemRecorder:
    """Record custom metrics and scores: ``bench_record.metric("f1", 0.8)``."""
    recorder = recorder_for(request.node)
    assert recorder is not None
    return recorder


@pytest.fixture
def bench_response(request: pytest.FixtureRequest, bench_case: Case,
                   bench_record: ItemRecorder) -> Completion:
    """The model's response to the suite's prompt for this case, prefetched.

    With several samples (``--llmbench-samples``) all are awaited and kept in
    ``bench_record.samples``; this is the first. A failed call raises here, in
    setup, so pytest reports an error, not a failure.
    """
    session = bench_session(request.config)
    if session.prefetcher is not None:
        calls, futures = session.prefetcher.response(request.node)
    else:
        calls = session.requests_for(bench_record.model, bench_case)  # type: ignore[arg-type]
        futures = session.engine.submit_many(calls)
    try:
        completions = [future.result() for future in futures]
    except ProviderError as exc:
        bench_record.error = exc
        raise
    for call, completion in zip(calls, completions, strict=True):
        bench_record.add_call(call, completion)
    bench_record.samples = completions
    return completions[0]


@pytest.fixture
def llm(request: pytest.FixtureRequest, llm_model: ModelSpec, bench_record: ItemRecorder
        ) -> LLMClient:
    """A client bound to the test's model: ``llm.complete(prompt)``, ``llm.chat(messages)``
    and their async forms; every call is measured and recorded."""
    return LLMClient(bench_session(request.config), llm_model, bench_record)


@pytest.fixture(scope="session")
def llm_sim(request: pytest.FixtureRequest) -> Any:
    """The local LLM API simulator: the run's own when it started one for ``sim:`` models
    (one for all xdist workers), else one started on a free port for this session.
    ``llm_sim.base_url`` serves the OpenAI, Anthropic and Bedrock wire formats."""
    url = bench_session(request.config).context.get("sim_url")
    if url:
        return _RunningSim(url)
    from pytest_llmbench.sim import start_sim_process  # noqa: PLC0415 - only when used

    process = start_sim_process(port=0)
    request.addfinalizer(process.stop)
    return process


class _RunningSim:
    def __init__(self, base_url: str) -> None:
        self.base_url = base_url


def suite_test(bench_response: Completion, bench_record: ItemRecorder) -> None:
    """The test body of every YAML suite case: score the response, fail if wrong."""
    bench_record.check(bench_response)


__all__: list[Any] = ["bench_case", "bench_record", "bench_response", "bench_suite", "llm",
                      "llm_model", "llm_sim"]
