"""Is the client the bottleneck? CPU use and event-loop lag during a measured window.

A load generator that is short of CPU, or whose event loop wakes late, adds
its own delay to every TTFT and chunk gap and sends fewer requests than asked.
The monitor samples the process's CPU time against wall time and the loop's
lag: on a loop made by :func:`monitored_loop` (the load generator's), from
the loop's own polls, with no wake-ups of its own; on any other loop, from a
ticker coroutine that measures how late each of its sleeps wakes up. Above
the suite's ``harness`` limits the point is marked unreliable, with the reason.
"""

from __future__ import annotations

import asyncio
import itertools
import selectors
import time
import weakref
from types import TracebackType
from typing import Any

from pytest_llmbench.serving.metrics import percentile
from pytest_llmbench.serving.scenario import Harness

TICK_S = 0.005


class LagClock:
    """Loop lag read off the loop's own polls, as a ticker every ``tick_s`` would see it.

    An event loop alternates between waiting in its selector (idle: anything
    that arrives is handled at once) and running callbacks (busy: anything that
    arrives waits until the loop polls again). For every instant ``t`` of a grid
    ``tick_s`` apart, the lag is how long after ``t`` the loop next polled: 0
    when it was waiting, ``end - t`` inside a busy stretch that ended at
    ``end``. That is what a ticker coroutine measures, without a ticker's
    wake-ups: at one stream a 5 ms ticker woke an idle loop about 280 times per
    1.4 s request, CPU as large as a fifth of the client's own work (see
    docs/serving.md, Fidelity), and it sampled less often exactly while the
    loop was late. Recording costs two clock reads per loop iteration.
    """

    def __init__(self, tick_s: float = TICK_S) -> None:
        self.tick_s = tick_s
        self.lags: list[float] = []
        self.recording = False
        self._next = 0.0
        self._busy_from = time.perf_counter()

    def start(self) -> None:
        self.lags = []
        self._next = time.perf_counter() + self.tick_s
        self.recording = True

    def stop(self) -> None:
        self.polled(time.perf_counter())  # the stretch running now counts up to here
        self.recording = False

    def polled(self, now: float) -> None:
        """The loop polls its selector at ``now``: grid instants since the busy
        stretch began waited until now."""
        if self.recording:
            while self._next <= now:
                self.lags.append(now - max(self._next, self._busy_from))
                self._next += self.tick_s

    def woke(self, now: float) -> None:
        """The selector returned at ``now``: grid instants while it waited had no lag."""
        if self.recording and self._next <= now:
            idle = int((now - self._next) / self.tick_s) + 1
            self.lags.extend(itertools.repeat(0.0, idle))
            self._next += idle * self.tick_s
        self._busy_from = now


class _TimedSelector(selectors.DefaultSelector):
    """The platform's default selector, telling a :class:`LagClock` when the loop polls."""

    def __init__(self, clock: LagClock) -> None:
        super().__init__()
        self.clock = clock

    def select(self, timeout: float | None = None) -> list[tuple[selectors.SelectorKey, int]]:
        self.clock.polled(time.perf_counter())
        try:
            return super().select(timeout)
        finally:
            self.clock.woke(time.perf_counter())


_CLOCKS: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, LagClock] = (
    weakref.WeakKeyDictionary())


def monitored_loop() -> asyncio.AbstractEventLoop:
    """A new event loop whose lag a :class:`HarnessMonitor` reads for free
    (``asyncio.Runner(loop_factory=monitored_loop)``)."""
    clock = LagClock()
    loop = asyncio.SelectorEventLoop(_TimedSelector(clock))
    _CLOCKS[loop] = clock
    return loop


class HarnessMonitor:
    def __init__(self, tick_s: float = TICK_S) -> None:
        self.tick_s = tick_s
        self.lags: list[float] = []
        self._task: asyncio.Task[None] | None = None
        self._clock: LagClock | None = None
        self._cpu0 = self._wall0 = 0.0
        self.cpu_s = self.wall_s = 0.0

    async def _ticker(self) -> None:
        while True:
            due = time.perf_counter() + self.tick_s
            await asyncio.sleep(self.tick_s)
            self.lags.append(max(0.0, time.perf_counter() - due))

    async def __aenter__(self) -> HarnessMonitor:
        self._cpu0, self._wall0 = time.process_time(), time.perf_counter()
        self._clock = _CLOCKS.get(asyncio.get_running_loop())
        if self._clock is not None:
            self._clock.tick_s = self.tick_s
            self._clock.start()
        else:
            self._task = asyncio.create_task(self._ticker())
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None,
                        exc: BaseException | None, tb: TracebackType | None) -> None:
        self.cpu_s = time.process_time() - self._cpu0
        self.wall_s = time.perf_counter() - self._wall0
        if self._clock is not None:
            self._clock.stop()
            self.lags = self._clock.lags
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
