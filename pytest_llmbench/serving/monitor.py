"""Is the client the bottleneck? CPU use and event-loop lag during a measured window.

A load generator that is short of CPU, or whose event loop wakes late, adds
its own delay to every TTFT and chunk gap and sends fewer requests than asked.
The monitor samples the process's CPU time against wall time and runs a
ticker coroutine that measures how late each of its sleeps wakes up; above
the suite's ``harness`` limits the point is marked unreliable, with the reason.
"""

from __future__ import annotations

import asyncio
import time
from types import TracebackType
from typing import Any

from pytest_llmbench.serving.metrics import percentile
from pytest_llmbench.serving.scenario import Harness

TICK_S = 0.005


class HarnessMonitor:
    def __init__(self, tick_s: float = TICK_S) -> None:
        self.tick_s = tick_s
        self.lags: list[float] = []
        self._task: asyncio.Task[None] | None = None
        self._cpu0 = self._wall0 = 0.0
        self.cpu_s = self.wall_s = 0.0

    async def _ticker(self) -> None:
        while True:
            due = time.perf_counter() + self.tick_s
            await asyncio.sleep(self.tick_s)
            self.lags.append(max(0.0, time.perf_counter() - due))

    async def __aenter__(self) -> HarnessMonitor:
        self._cpu0, self._wall0 = time.process_time(), time.perf_counter()
        self._task = asyncio.create_task(self._ticker())
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None,
                        exc: BaseException | None, tb: TracebackType | None) -> None:
        self.cpu_s = time.process_time() - self._cpu0
        self.wall_s = time.perf_counter() - self._wall0
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass

    def report(self, limits: Harness) -> dict[str, Any]:
        """CPU (cores busy), loop lag (ms) and, when a limit is passed, why the figures
        are unreliable."""
        lags = sorted(lag * 1000.0 for lag in self.lags)
        cpu = self.cpu_s / self.wall_s if self.wall_s > 0 else 0.0
        lag_p99 = percentile(lags, 99) if lags else 0.0
        reasons = []
        if cpu > limits.max_cpu:
            reasons.append(f"client CPU {cpu:.2f} cores > {limits.max_cpu:g}")
        if lag_p99 > limits.max_loop_lag_ms:
            reasons.append(f"event-loop lag p99 {lag_p99:.1f} ms > {limits.max_loop_lag_ms:g} ms")
        return {"cpu_cores": cpu, "cpu_s": self.cpu_s, "loop_lag_p99_ms": lag_p99,
                "loop_lag_max_ms": lags[-1] if lags else 0.0,
                "unreliable": "; ".join(reasons) or None}
