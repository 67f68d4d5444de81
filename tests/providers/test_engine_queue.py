"""The engine queues what it cannot start yet: at most 4 x concurrency calls are started
(booking budget, holding tasks); the rest wait in order and can still be cancelled."""

from __future__ import annotations

import time

from pytest_llmbench.calls.engine import Engine
from pytest_llmbench.config import ModelSpec
from pytest_llmbench.providers.base import ChatRequest


def _request(i: int, delay: float) -> ChatRequest:
    spec = ModelSpec("inproc", "oracle", settings={"delay": delay})
    return ChatRequest(spec, [{"role": "user", "content": f"q{i}"}],
                       metadata={"expected": str(i), "case_id": f"q{i}"})


def test_queued_calls_run_in_order_and_can_be_cancelled_before_they_start() -> None:
    engine = Engine(concurrency=2)
    try:
        futures = engine.submit_many([_request(i, 0.05) for i in range(40)])
        time.sleep(0.02)
        started = [f for f in futures if f.running() or f.done()]
        assert len(started) == 8  # 4 x concurrency started, the rest queued
        assert [f.cancel() for f in futures[20:]] == [True] * 20
        answers = [f.result(timeout=10).text for f in futures[:20]]
    finally:
        engine.close()
    assert answers == [str(i) for i in range(20)]
    assert all(f.cancelled() for f in futures[20:])
