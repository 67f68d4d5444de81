"""One serving point spread over several load processes (``processes: N``).

A single Python process parses every streamed chunk on one event loop: at
256 streams x 10 ms ITL (25,600 chunks/s) it runs out of CPU and its own
queue shows up as TTFT. A split point runs N child processes
(``python -m pytest_llmbench.serving.split_child``), each a ``LoadRunner``
with part (i, N) of the point: every N-th prompt or arrival of the point's one
seeded schedule and its share of the concurrency, so the merged stream is the
one a single process would send. Each child warms up on its own, then all
start on one wall-clock instant; each measures its own CPU and loop lag. The
children send back plain samples; the parent pools them on one time axis
(``samples.pool_windows``) into one ``PointResult``. The settings (API keys
included) travel on the child's stdin, never on its command line.
"""

from __future__ import annotations

import math
import os
import pickle
import signal
import subprocess
import sys
import tempfile
import time
from typing import IO, Any

from pytest_llmbench.config import ModelSpec
from pytest_llmbench.errors import LLMBenchError
from pytest_llmbench.serving.load import LoadRunner, PointResult
from pytest_llmbench.serving.metrics import RequestSample, Window
from pytest_llmbench.serving.samples import PointSamples, pool_windows
from pytest_llmbench.serving.scenario import Point, ServingSuite

STREAMS_PER_PROCESS = 64
"""``auto``: one process per 64 streams. At 10 ms ITL that is 6,400 chunks/s, about
0.65 cores of a single process here (0.1 ms per chunk), under the 0.8 of ``max_cpu``;
past that a process's CPU per request grows (13 ms at 64 streams, 31 ms at 256)."""
CHUNKS_PER_PROCESS = STREAMS_PER_PROCESS * 100
PROCESSES_PER_CORE = 2  # measured: 4 processes beat 1 and 2 on 2 cores at c=256
START_DELAY_S = 0.2  # from "go" to the common start: every child reads it before then


class SplitFailed(LLMBenchError):
    """A child process of a split point died or failed; ``partial`` holds what the others
    measured (None when none did)."""

    def __init__(self, message: str, partial: PointResult | None) -> None:
        super().__init__(message)
        self.partial = partial


def available_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # macOS, Windows
        return os.cpu_count() or 1


def process_count(point: Point, requested: int | str, max_tokens: int | None,
                  cores: int | None = None) -> int:
    """How many processes share ``point``. ``auto``: enough that none carries more than
    64 streams (closed loop), or 6,400 chunks/s (rate x max_tokens, open loop), and at
    most two per core. Never more processes than streams or requests: each must have
    some load of its own."""
    if requested == "auto":
        if point.concurrency is not None:
            need = math.ceil(point.concurrency / STREAMS_PER_PROCESS)
        else:
            need = math.ceil((point.rate or 0) * (max_tokens or 128) / CHUNKS_PER_PROCESS)
        count = min(need, (cores or available_cores()) * PROCESSES_PER_CORE)
    else:
        count = int(requested)
    for limit in (point.concurrency or point.max_concurrency, point.requests):
        if limit is not None:
            count = min(count, limit)
    return max(1, count)


class SplitRunner:
    """Runs a point over ``processes`` children; same ``run`` as ``LoadRunner``."""

    def __init__(self, spec: ModelSpec, context: dict[str, Any], timeout: float,
                 processes: int) -> None:
        self.spec, self.context, self.timeout = spec, context, timeout
        self.processes = processes

    def run(self, suite: ServingSuite, point: Point) -> PointResult:
        children: list[_Child] = []
        try:
            for index in range(self.processes):
                children.append(_Child(index, self.processes))
                children[-1].send((self.spec, self.context, self.timeout, suite, point))
            ready = [child for child in children if child.receive("ready") is not None]
            go = time.time() + START_DELAY_S
            for child in ready:
                child.send(go)
            done = {child.index: result for child in ready
                    if (result := child.receive("done")) is not None}
        finally:
            for child in children:
                child.close()
        return _pooled(point, children, done)


def _pooled(point: Point, children: list[_Child], done: dict[int, dict[str, Any]]
            ) -> PointResult:
    """One result from the children's; SplitFailed (with what the others measured) when
    any child failed."""
    partial = None
    if done:
        window, started = pool_windows([PointSamples(
            Window([RequestSample.from_dict(s) for s in r["samples"]], r["duration_s"]),
            r["started_at"]) for r in done.values()])
        partial = PointResult(window, point.warmup,
                              _harness({c.label: done[c.index]["harness"] for c in children
                                        if c.index in done}), started)
    failed = [c for c in children if c.index not in done]
    if not failed:
        assert partial is not None
        return partial
    reason = "; ".join(f"{c.label} {c.failure}" for c in failed)
    if partial is None:
        raise SplitFailed(f"{reason}; nothing was measured", None)
    kept = ", ".join(c.label for c in children if c.index in done)
    raise SplitFailed(f"{reason}; kept the {len(partial.window.samples)} requests measured by "
                      f"{kept} (in the record and samples file, no SLO verdict)", partial)


def _harness(parts: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """The point's client: CPU of all its processes together, the worst loop lag, each
    process's own figures, and every process that was the bottleneck, by name."""
    figures = list(parts.values())
    reasons = [f"{label}: {h['unreliable']}" for label, h in parts.items() if h.get("unreliable")]
    return {"cpu_cores": sum(h["cpu_cores"] for h in figures),
            "cpu_s": sum(h["cpu_s"] for h in figures),
            "loop_lag_p99_ms": max(h["loop_lag_p99_ms"] for h in figures),
            "loop_lag_max_ms": max(h["loop_lag_max_ms"] for h in figures),
            "unreliable": "; ".join(reasons) or None,
            "processes": [{"process": label, **h} for label, h in parts.items()]}


class _Child:
    """One load process and its pipes: pickled messages on stdin and on a stdout that only
    carries them (the child sends its own prints to stderr, kept in a temporary file for
    the one-line reason when it dies)."""

    def __init__(self, index: int, count: int) -> None:
        self.index = index
        self.label = f"process {index + 1}/{count}"
        self.failure: str | None = None
        self.finished = False
        self.stderr = tempfile.TemporaryFile()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "pytest_llmbench.serving.split_child", str(index), str(count)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self.stderr)

    def send(self, message: Any) -> None:
        assert self.proc.stdin is not None
        try:
            pickle.dump(message, self.proc.stdin)
            self.proc.stdin.flush()
        except (BrokenPipeError, OSError):
            pass  # it died; receive() says how

    def receive(self, expected: str) -> Any:
        """The child's next message when it is ``expected``; None (and ``failure`` set)
        when the child died or reported an error instead."""
        if self.failure is not None:
            return None
        assert self.proc.stdout is not None
        try:
            kind, payload = pickle.load(self.proc.stdout)
        except (EOFError, pickle.UnpicklingError, OSError, ValueError):
            self.failure = self._death()
            return None
        if kind == expected:
            self.finished = kind == "done"
            return payload
        self.failure = f"failed: {payload}"
        return None

    def _death(self) -> str:
        try:
            code = self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            return "stopped answering"
        if code < 0:
            try:
                name = signal.Signals(-code).name
            except ValueError:
                name = f"signal {-code}"
            return f"died (killed by {name})"
        return f"died (exit status {code}{_last_line(self.stderr)})"

    def close(self) -> None:
        for stream in (self.proc.stdin, self.proc.stdout):
            if stream is not None:
                stream.close()
        try:  # a child that sent its samples is exiting; any other is stopped now
            self.proc.wait(timeout=5 if self.finished else 0)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.stderr.close()


def _last_line(stream: IO[bytes]) -> str:
    stream.seek(0)
    lines = [line.strip() for line in stream.read().decode(errors="replace").splitlines()]
    lines = [line for line in lines if line]
    return f": {lines[-1][:300]}" if lines else ""


def runner_for(spec: ModelSpec, context: dict[str, Any], timeout: float, suite: ServingSuite,
               point: Point, processes: int | str | None = None) -> LoadRunner | SplitRunner:
    """The runner of a point: split when it asks for (or ``processes`` overrides it with)
    more than one process."""
    count = process_count(point, point.processes if processes is None else processes,
                          suite.max_tokens)
    if count > 1:
        return SplitRunner(spec, context, timeout, count)
    return LoadRunner(spec, context, timeout)
