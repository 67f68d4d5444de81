"""The engine's retries through the real SDKs against the simulator.

Simulated models fail the first N requests of each case id (``fail_first``), so
every retry path is deterministic; the simulator's /metrics proves how many
requests were really sent.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Iterator
from typing import Any

import pytest

from pytest_llmbench.calls.engine import Engine
from pytest_llmbench.calls.retry import RetryPolicy
from pytest_llmbench.config import ModelSpec
from pytest_llmbench.errors import ProviderError
from pytest_llmbench.providers.base import ChatRequest, Completion
from pytest_llmbench.sim import SimServer
from tests.providers.conftest import spec_for

FAST = RetryPolicy(max_retries=3, base_delay_s=0.01)
_ids = itertools.count()


@pytest.fixture(scope="module")
def rsim() -> Iterator[SimServer]:
    faults = {"r429": "rate_limit", "r500": "server_error", "r503": "unavailable",
              "rover": "overloaded", "rmid": "stream_error", "rdrop": "drop", "rstall": "stall"}
    models = [f"{name}:base=fast,fail_first=2,fail_first_kind={kind},retry_after_s=0.05,stall_s=1"
              for name, kind in faults.items()]
    models += ["once429:base=fast,fail_first=1,fail_first_kind=rate_limit,retry_after_s=0.4",
               "long429:base=fast,fail_first=1,fail_first_kind=rate_limit,retry_after_s=5"]
    with SimServer(models=models) as server:
        yield server


def _spec(provider: str, model: str, sim: SimServer, **settings: Any) -> tuple[ModelSpec, str]:
    """A spec whose requests carry a fresh case id, so fail_first counts start at zero."""
    case = f"case-{next(_ids)}"
    headers = {"x-llmbench-case": case, **settings.pop("headers", {})}
    spec = spec_for(provider, model, sim, headers=headers, **settings)
    spec.settings.pop("max_retries")  # the engine's policy decides unless a test sets one
    spec.settings.update({k: v for k, v in settings.items() if k == "max_retries"})
    return spec, case


def _run(spec: ModelSpec, retry: RetryPolicy = FAST, timeout: float = 10.0) -> Completion:
    engine = Engine(concurrency=2, timeout=timeout, retry=retry)
    try:
        return engine.call(ChatRequest(spec, [{"role": "user", "content": "Say something."}]))
    finally:
        engine.close()


def _sent(sim: SimServer, case: str, expect: int = 0) -> list[dict[str, Any]]:
    """The requests the simulator logged for ``case`` (a stalled one is logged when the
    server gives up on it, so wait up to 3 s for ``expect`` of them)."""
    deadline = time.monotonic() + 3
    while True:
        sent = [r for r in sim.metrics["recent"] if r.get("case_id") == case]
        if len(sent) >= expect or time.monotonic() > deadline:
            return sorted(sent, key=lambda r: r["at"])
        time.sleep(0.05)


PATHS = [("r429", 429), ("r500", 500), ("r503", 503), ("rover", None), ("rmid", 200),
         ("rdrop", 200), ("rstall", 200)]


@pytest.mark.parametrize("provider", ["openai", "anthropic", "bedrock"])
@pytest.mark.parametrize(("model", "status"), PATHS)
def test_transient_failures_are_retried(rsim: SimServer, provider: str, model: str,
                                        status: int | None) -> None:
    spec, case = _spec(provider, model, rsim)
    completion = _run(spec, timeout=0.5 if model == "rstall" else 10.0)
    assert completion.text == "I don't know."
    assert completion.attempts == 3
    sent = _sent(rsim, case, expect=3)
    assert len(sent) == 3
    assert [r["fault"] for r in sent] == [sent[0]["fault"], sent[0]["fault"], None]
    if status is not None:
        assert sent[0]["status"] == status


@pytest.mark.parametrize("provider", ["openai", "azure", "anthropic", "bedrock"])
@pytest.mark.parametrize("fault", ["bad_request", "auth", "not_found"])
def test_client_errors_are_never_retried(rsim: SimServer, provider: str, fault: str) -> None:
    spec, case = _spec(provider, "fast", rsim, headers={"x-llmbench-fault": fault})
    with pytest.raises(ProviderError) as info:
        _run(spec)
    assert info.value.kind == {"bad_request": "bad_request", "auth": "auth",
                               "not_found": "not_found"}[fault]
    assert info.value.attempts == 1
    assert "attempts" not in info.value.one_line()
    assert len(_sent(rsim, case, expect=1)) == 1


@pytest.mark.parametrize("provider", ["openai", "anthropic", "bedrock"])
def test_the_maximum_is_respected_and_reported(rsim: SimServer, provider: str) -> None:
    spec, case = _spec(provider, "fast", rsim, headers={"x-llmbench-fault": "server_error"})
    with pytest.raises(ProviderError) as info:
        _run(spec, retry=RetryPolicy(max_retries=2, base_delay_s=0.01))
    assert info.value.kind == "server_error"
    assert info.value.attempts == 3
    assert info.value.one_line().endswith("(after 3 attempts)")
    assert len(_sent(rsim, case, expect=3)) == 3


def test_a_models_max_retries_setting_wins(rsim: SimServer) -> None:
    spec, case = _spec("openai", "r429", rsim, max_retries=1,
                       headers={"x-llmbench-fault": "rate_limit"})
    with pytest.raises(ProviderError) as info:
        _run(spec)
    assert info.value.attempts == 2
    assert len(_sent(rsim, case, expect=2)) == 2


@pytest.mark.parametrize("provider", ["openai", "anthropic", "bedrock"])
def test_retry_after_is_honoured(rsim: SimServer, provider: str) -> None:
    spec, case = _spec(provider, "once429", rsim)
    completion = _run(spec, retry=RetryPolicy(max_retries=3, base_delay_s=0.0))
    assert completion.attempts == 2
    first, second = _sent(rsim, case, expect=2)
    assert first["status"] == 429
    assert second["at"] - first["at"] >= 0.4 - 0.02


def test_a_single_wait_is_capped(rsim: SimServer) -> None:
    spec, case = _spec("openai", "long429", rsim)
    started = time.monotonic()
    completion = _run(spec, retry=RetryPolicy(max_retries=3, max_wait_s=0.1))
    assert completion.attempts == 2
    assert time.monotonic() - started < 2.0  # not the 5 s the server asked for


def test_timeout_applies_per_attempt(rsim: SimServer) -> None:
    # two stalls cut by the 0.5 s per-attempt timeout, then an answer: > 1 s in all
    spec, case = _spec("openai", "rstall", rsim)
    started = time.monotonic()
    completion = _run(spec, timeout=0.5)
    assert completion.attempts == 3
    assert time.monotonic() - started >= 1.0
