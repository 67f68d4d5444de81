"""The harness monitor on the load generator's own loop: a blocked loop is still
flagged, and measuring the lag adds no wake-ups of its own."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

from pytest_llmbench.config import ModelSpec
from pytest_llmbench.providers import common
from pytest_llmbench.providers.base import ChatRequest, Completion, Provider
from pytest_llmbench.serving import monitor as monitor_module
from pytest_llmbench.serving.load import LoadRunner
from pytest_llmbench.serving.monitor import HarnessMonitor, monitored_loop
from pytest_llmbench.serving.scenario import Harness, Point, load_serving_suite

LIMITS = Harness(max_cpu=10, max_loop_lag_ms=20)


def on_monitored_loop(body: object) -> HarnessMonitor:
    with asyncio.Runner(loop_factory=monitored_loop) as runner:
        return runner.run(body)  # type: ignore[arg-type]


async def blocking_client() -> HarnessMonitor:
    async with HarnessMonitor() as monitor:
        for _ in range(5):
            await asyncio.sleep(0.01)
            time.sleep(0.05)  # a client that blocks its own loop
    return monitor


def test_ticker_flags_a_blocked_loop_on_any_other_loop() -> None:
    report = asyncio.run(blocking_client()).report(LIMITS)
    assert report["loop_lag_max_ms"] > 30
    assert "event-loop lag" in report["unreliable"]


def test_monitored_loop_flags_a_blocked_loop() -> None:
    report = on_monitored_loop(blocking_client()).report(LIMITS)
    assert 40 < report["loop_lag_max_ms"] < 100
    assert report["loop_lag_p99_ms"] > 20
    assert "event-loop lag" in report["unreliable"]


def test_monitored_loop_reads_lag_without_waking_the_loop(
        monkeypatch: pytest.MonkeyPatch) -> None:
    polls = {"monitored": 0, "ticker": 0}
    which = "monitored"
    original = monitor_module.LagClock.polled

    def counted(self: monitor_module.LagClock, now: float) -> None:
        polls[which] += 1
        original(self, now)

    monkeypatch.setattr(monitor_module.LagClock, "polled", counted)

    async def quiet() -> HarnessMonitor:
        async with HarnessMonitor() as monitor:
            await asyncio.sleep(0.3)  # a stream waiting for its next chunk
        return monitor

    calm = on_monitored_loop(quiet())
    assert polls["monitored"] <= 15  # start, the sleep, shutdown: not one per 5 ms
    assert len(calm.lags) >= 50  # yet lag is known every 5 ms of the window
    assert calm.report(LIMITS)["loop_lag_p99_ms"] < 1 and calm.report(LIMITS)["unreliable"] is None
    # the same window timed by a ticker coroutine polls the loop once per tick
    which = "ticker"
    with asyncio.Runner(loop_factory=monitored_loop) as runner:
        loop = runner.get_loop()
        monitor_module._CLOCKS.pop(loop)  # as any other loop: the ticker fallback
        ticked = runner.run(quiet())
    assert polls["ticker"] >= 50 and len(ticked.lags) >= 40


class _BlockingProvider:
    """A client whose per-chunk work blocks the event loop (CPU-bound parsing)."""

    async def complete(self, request: ChatRequest) -> Completion:
        clock = common.StreamClock()
        for _ in range(3):
            await asyncio.sleep(0.005)
            time.sleep(0.04)
            clock.token("word ")
        return clock.finish(input_tokens=1, output_tokens=3, finish="stop", raw_usage=None,
                            prompt="p")

    async def aclose(self) -> None:
        pass


class _Runner(LoadRunner):
    def _provider(self, suite: object, point: Point) -> Provider:
        return _BlockingProvider()  # type: ignore[return-value]


def test_load_runner_marks_a_blocked_loop_unreliable(tmp_path: Path) -> None:
    path = tmp_path / "load.yaml"
    path.write_text("kind: serving\nname: blocked\nprompts: {input_tokens: 4}\n"
                    "scenarios: [{concurrency: 2, requests: 6}]\n"
                    "harness: {max_cpu: 10, max_loop_lag_ms: 20}\n")
    suite = load_serving_suite(path)
    result = _Runner(ModelSpec("sim", "perf"), {}).run(
        suite, Point(id="c2", concurrency=2, requests=6))
    assert result.harness["loop_lag_max_ms"] > 30
    assert "event-loop lag" in result.harness["unreliable"]
