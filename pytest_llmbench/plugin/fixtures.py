"""The fixtures benchmarks use: llm_model, bench_case, bench_suite, bench_response,
bench_record and llm."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from pytest_llmbench.config import ModelSpec
from pytest_llmbench.errors import ProviderError
from pytest_llmbench.plugin.recorder import ItemRecorder, LLMClient
from pytest_llmbench.plugin.stash import RECORDER, bench_session
from pytest_llmbench.providers.base import Completion
from pytest_llmbench.suites.model import Case, Suite
from pytest_llmbench.suites.variants import Variant


@dataclass(frozen=True, slots=True, eq=False)
class SuiteItem:
    """What a YAML suite item runs: which model answers which case, with which variant.

    Kept in the item's stash (``SUITE_ITEM``), not as a pytest parameter, so a suite
    item costs pytest less than a plain parametrized test.
    """

    model: ModelSpec
    case: Case
    variant: Variant | None = None


SUITE_ITEM = pytest.StashKey[SuiteItem]()


def item_params(item: pytest.Item) -> tuple[ModelSpec | None, Case | None]:
    """The (model, case) a benchmark item runs; (None, None) for other tests."""
    suite_item = item.stash.get(SUITE_ITEM, None)
    if suite_item is not None:
        return suite_item.model, suite_item.case
    callspec = getattr(item, "callspec", None)
    if callspec is None:
        return None, None
    params = callspec.params
    model, case = params.get("llm_model"), params.get("bench_case")
    return (model if isinstance(model, ModelSpec) else None,
            case if isinstance(case, Case) else None)


def item_variant(item: pytest.Item) -> Variant | None:
    """The variant a benchmark item asks with; None when its suite declares none."""
    suite_item = item.stash.get(SUITE_ITEM, None)
    if suite_item is not None:
        return suite_item.variant
    params = getattr(getattr(item, "callspec", None), "params", {})
    variant = params.get("bench_variant")
    return variant if isinstance(variant, Variant) else None


def recorder_for(item: pytest.Item) -> ItemRecorder | None:
    """The item's recorder, created on first use; None for tests that are not benchmarks."""
    recorder = item.stash.get(RECORDER, None)
    if recorder is not None:
        return recorder
    model, case = item_params(item)
    if model is None:
        return None
    session = bench_session(item.config)
    suite = session.suite_of(case) if case is not None else None
    recorder = ItemRecorder(session, model, case, suite,
                            name=getattr(item, "originalname", item.name))
    recorder.variant = item_variant(item)
    item.stash[RECORDER] = recorder
    return recorder


def fetch_response(item: pytest.Item, recorder: ItemRecorder) -> Completion:
    """The item's response to its suite's prompt, prefetched where planned. A failed call
    is kept on the recorder and raised, so pytest reports an error (it runs in setup)."""
    session = recorder.session
    if session.prefetcher is not None:
        calls, futures = session.prefetcher.response(item)
    else:
        calls = session.requests_for(recorder.model, recorder.case,  # type: ignore[arg-type]
                                     recorder.variant)
        futures = session.engine.submit_many(calls)
    try:
        completions = [future.result() for future in futures]
    except ProviderError as exc:
        recorder.error = exc
        raise
    for call, completion in zip(calls, completions, strict=True):
        recorder.add_call(call, completion)
    recorder.samples = completions  # all n with --llmbench-samples; this returns the first
    return completions[0]


def _param(request: pytest.FixtureRequest, index: int, name: str) -> Any:
    """An indirect parameter, or (for a YAML suite item) that part of its ``SuiteItem``."""
    if hasattr(request, "param"):
        return request.param
    value = item_params(request.node)[index]
    if value is None:
        raise pytest.UsageError(f"{request.node.nodeid}: {name} is only available to "
                                "benchmark tests")
    return value


@pytest.fixture
def llm_model(request: pytest.FixtureRequest) -> ModelSpec:
    """The model this test runs against (one test per model)."""
    return _param(request, 0, "llm_model")  # type: ignore[no-any-return]


@pytest.fixture
def bench_case(request: pytest.FixtureRequest, llm_model: ModelSpec) -> Case:
    """The benchmark case (dataset row) this test runs; depends on ``llm_model`` because
    every case runs once per model."""
    return _param(request, 1, "bench_case")  # type: ignore[no-any-return]


@pytest.fixture
def bench_variant(request: pytest.FixtureRequest, llm_model: ModelSpec) -> Variant | None:
    """The prompt variant this test asks with (one test per variant of its suite), or None
    when the suite declares no variants."""
    if hasattr(request, "param"):
        return request.param  # type: ignore[no-any-return]
    return item_variant(request.node)


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
                   bench_variant: Variant | None, bench_record: ItemRecorder) -> Completion:
    """The model's response to the suite's prompt for this case, prefetched.

    With several samples (``--llmbench-samples``) all are awaited and kept in
    ``bench_record.samples``; this is the first. A failed call raises here, in
    setup, so pytest reports an error, not a failure.
    """
    return fetch_response(request.node, bench_record)


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


def suite_test() -> None:
    """The test function of every YAML suite case. The worker plugin fetches the response
    in setup (a failed call is an error) and scores it in ``pytest_pyfunc_call`` (a wrong
    answer is a failure), since both need the item; this body runs only without it."""
    raise RuntimeError("YAML suite tests run under the llmbench plugin")


__all__: list[Any] = ["bench_case", "bench_record", "bench_response", "bench_suite",
                      "bench_variant", "llm",
                      "llm_model", "llm_sim"]
