"""What a sandbox run is given (limits) and what it reports (SandboxResult).

Both backends run the same harness (``guest.py``) and classify the outcome the
same way, so a record reads alike whichever backend ran it. Only the harness's
report (``harness.py``) can make a run pass; the exit status alone never does.
"""

from __future__ import annotations

import subprocess
import threading
import time
from dataclasses import dataclass, field
from typing import IO, Any

from pytest_llmbench.errors import LLMBenchError

OUTPUT_LIMIT = 16_000
STATUSES = ("passed", "failed", "timeout", "memory", "killed", "sandbox_error")


@dataclass(frozen=True)
class Limits:
    """Resources one program may use. ``timeout_s`` is wall-clock; CPU time is capped
    a second above it, so a busy loop and a sleeping one both stop."""

    timeout_s: float = 10.0
    memory_mb: int = 512
    processes: int = 32
    file_size_mb: int = 16
    cpus: float = 1.0
    output_chars: int = OUTPUT_LIMIT


@dataclass
class SandboxResult:
    """How one program run ended; ``notes`` says what isolation was in force."""

    status: str
    exit_code: int | None
    stdout: str
    stderr: str
    duration_s: float
    backend: str
    notes: dict[str, Any] = field(default_factory=dict)
    reason: str = ""
    checks: int | None = None
    runtime_s: float | None = None

    @property
    def passed(self) -> bool:
        return self.status == "passed"

    def to_details(self) -> dict[str, Any]:
        return {"status": self.status, "exit_code": self.exit_code, "stdout": self.stdout,
                "stderr": self.stderr, "duration_s": round(self.duration_s, 4),
                "backend": self.backend, "reason": self.reason, "checks": self.checks,
                **({"isolation": self.notes} if self.notes else {})}


class SandboxUnavailable(LLMBenchError):
    """The chosen backend cannot run here (no Docker engine, no image)."""


def classify(exit_code: int | None, stderr: str, timed_out: bool, oom_killed: bool = False,
             completed: bool = False) -> str:
    """One status from how the process ended (signals as negative codes or 128+n).

    ``completed``: the harness's trusted report says every check ran and passed (see
    harness.verdict); without it exit status 0 is a failure, never a pass."""
    if timed_out:
        return "timeout"
    if oom_killed or "MemoryError" in stderr[-2000:]:
        return "memory"
    if completed:
        return "passed"
    if exit_code in (-24, 128 + 24):
        return "timeout"  # SIGXCPU: the CPU-time limit
    if exit_code is not None and (exit_code < 0 or exit_code > 128):
        return "killed"
    return "failed"


def clip(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    half = limit // 2
    return f"{text[:half]}\n... [{len(text) - limit} characters cut] ...\n{text[-half:]}"


class _Drain(threading.Thread):
    """Reads a pipe to its end, keeping only the first ``limit`` bytes (a program
    that prints forever must not fill the harness's memory), and every whole line
    that starts with ``marker`` wherever it comes (the harness report)."""

    def __init__(self, stream: IO[bytes], limit: int, marker: bytes | None = None) -> None:
        super().__init__(daemon=True)
        self.stream = stream
        self.limit = limit
        self.chunks: list[bytes] = []
        self.kept = 0
        self.dropped = 0
        self.marker = marker
        self.lines: list[bytes] = []
        self._line = bytearray()
        self._skip = False

    def run(self) -> None:
        while chunk := self.stream.read(65536):
            room = self.limit - self.kept
            if room > 0:
                self.chunks.append(chunk[:room])
                self.kept += min(room, len(chunk))
            self.dropped += max(0, len(chunk) - max(room, 0))
            if self.marker:
                self._scan(chunk)

    def _scan(self, chunk: bytes) -> None:
        start = 0
        while (end := chunk.find(b"\n", start)) >= 0:
            self._carry(chunk[start:end])
            if not self._skip and self._line:
                self.lines.append(bytes(self._line))
            self._line.clear()
            self._skip = False
            start = end + 1
        self._carry(chunk[start:])

    def _carry(self, part: bytes) -> None:
        if self._skip or not part:
            return
        self._line += part
        marker = self.marker or b""
        head = bytes(self._line[:len(marker)])
        if not marker.startswith(head) or len(self._line) > 4096:
            self._skip = True  # not a report line: nothing of it is kept here
            self._line.clear()

    def text(self) -> str:
        text = b"".join(self.chunks).decode("utf-8", "replace")
        return text + (f"\n... [{self.dropped} more bytes not kept]" if self.dropped else "")


@dataclass
class Ended:
    """How a bounded process ended; ``reports``: the stderr lines starting with the marker."""

    exit_code: int | None
    stdout: str
    stderr: str
    timed_out: bool
    seconds: float
    reports: list[bytes]


def run_bounded(cmd: list[str], stdin: bytes, timeout_s: float, output_chars: int,
                on_timeout: Any = None, marker: bytes | None = None,
                kill_group_after: bool = False, **popen: Any) -> Ended:
    """Run ``cmd`` feeding ``stdin`` and drain its output.

    On timeout ``on_timeout(process)`` stops it (default: kill its process group);
    ``kill_group_after`` also kills the group when it ended by itself (what it forked).
    """
    start = time.perf_counter()
    process = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, start_new_session=True, **popen)
    assert process.stdin is not None and process.stdout is not None and process.stderr is not None
    drains = [_Drain(process.stdout, output_chars * 4),
              _Drain(process.stderr, output_chars * 4, marker)]
    for drain in drains:
        drain.start()
    try:
        process.stdin.write(stdin)
        process.stdin.close()
    except (BrokenPipeError, OSError):
        pass
    timed_out = False
    try:
        process.wait(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        timed_out = True
        (on_timeout or _kill_group)(process)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            _kill_group(process)
            process.wait()
    if kill_group_after and not timed_out:
        _kill_group(process)
    elapsed = time.perf_counter() - start
    for drain in drains:
        drain.join(timeout=5)
        drain.stream.close()
    return Ended(process.returncode, clip(drains[0].text(), output_chars),
                 clip(drains[1].text(), output_chars), timed_out, elapsed, drains[1].lines)


def _kill_group(process: subprocess.Popen[bytes]) -> None:
    import os
    import signal

    try:
        os.killpg(process.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        if process.returncode is None:
            process.kill()
