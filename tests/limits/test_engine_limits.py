"""The engine's use of a limit: token reservations corrected with the server's usage,
and a 429 throttling the shared budget (real openai SDK, the simulator)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from pytest_llmbench.calls.engine import Engine
from pytest_llmbench.calls.ratelimit import RateLimit, RateLimits
from pytest_llmbench.calls.retry import RetryPolicy
from pytest_llmbench.config import ModelSpec
from pytest_llmbench.providers.base import ChatRequest
from pytest_llmbench.sim import SimServer


@pytest.fixture(scope="module")
def sim() -> Iterator[SimServer]:
    with SimServer(models=["hot:base=oracle,fail_first=1,fail_first_kind=rate_limit,"
                           "retry_after_s=0.3", "calm:base=oracle"]) as server:
        yield server


def _spec(sim: SimServer, model: str, **settings: object) -> ModelSpec:
    return ModelSpec("openai-compatible", model,
                     settings={"base_url": sim.base_url + "/v1", **settings})


def test_tokens_reserved_from_the_estimate_are_corrected_by_usage(sim: SimServer,
                                                                  tmp_path: Path) -> None:
    # 1200 tpm = 20 tokens/s. Each call reserves ~5 + 100 (max_tokens) tokens, i.e. 5 s,
    # but really uses ~10: the second call waits about 0.5 s, not 5 s.
    spec = _spec(sim, "oracle", rate_limit={"tpm": 1200})
    engine = Engine(concurrency=1, limits=RateLimits(folder=tmp_path))
    messages = [{"role": "user", "content": "Hello there"}]
    try:
        first = engine.call(ChatRequest(spec, messages, params={"max_tokens": 100}))
        started = time.monotonic()
        engine.call(ChatRequest(spec, messages, params={"max_tokens": 100}))
        waited = time.monotonic() - started
    finally:
        engine.close()
    used = (first.input_tokens or 0) + (first.output_tokens or 0)
    assert 0 < used < 30
    assert waited == pytest.approx(used / 20, abs=0.25)


def test_a_429_cuts_the_shared_rate_and_holds_others_off(sim: SimServer, tmp_path: Path) -> None:
    limits = RateLimits({"openai-compatible": RateLimit(rpm=6000)}, folder=tmp_path)
    engine = Engine(concurrency=1, retry=RetryPolicy(base_delay_s=0.0), limits=limits)
    hot, calm = _spec(sim, "hot"), _spec(sim, "calm")
    hi = [{"role": "user", "content": "Hi"}]
    try:
        # one slot: "hot" goes first and gets a 429; "calm" (same provider budget) is next
        answers = [f.result(timeout=30) for f in engine.submit_many(
            [ChatRequest(hot, hi), ChatRequest(calm, hi)])]
        bucket = limits.for_model(calm).bucket  # type: ignore[union-attr]
        assert limits.for_model(hot).bucket is bucket  # one budget for the provider
        assert bucket.effective() == pytest.approx(0.5, abs=0.02)
    finally:
        engine.close()
    assert [a.attempts for a in answers] == [2, 1]
    seen = {r["model"] + str(r["status"]): r["at"] for r in sim.metrics["recent"]}
    assert seen["calm200"] - seen["hot429"] >= 0.3 - 0.02  # held off by the 429's retry-after
