"""What every kind of target shares: the endpoint handed to workers, health waits, log tails.

A running target is described by an :class:`Endpoint`, plain data the
controller hands every xdist worker, so workers never start anything: they
send requests to ``url`` and, when a request fails, ask whether the target is
down and quote the tail of its log.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Protocol

from pytest_llmbench.errors import LLMBenchError

LOG_TAIL_LINES = 20


class TargetError(LLMBenchError):
    """A target could not start, never became healthy, or went down; the message ends
    with the tail of its log."""


class TargetUnavailable(TargetError):
    """What the target needs (a Docker engine) is missing here: its items are skipped."""


@dataclass
class Endpoint:
    """A target as the run sees it: where it answers and how it went."""

    name: str
    kind: str
    url: str = ""
    commit: str | None = None
    log: str | None = None
    """The log file (in the run directory) the target's output goes to."""
    error: str | None = None
    """Why it is not usable (start failed / unhealthy): its items fail with this."""
    skip: str | None = None
    """Why its items are skipped (e.g. no Docker engine)."""
    image: str | None = None
    container: str | None = None
    pid: int | None = None
    health_url: str | None = None
    started_s: float | None = None
    """Seconds from start to healthy."""
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Endpoint:
        return cls(**data)


class Target(Protocol):
    """A startable target. ``launch`` starts it and returns at once (the lifecycle then
    waits for its health URL); ``stop`` stops and removes it, and may be called twice."""

    name: str

    def launch(self, log_dir: Path) -> Endpoint: ...

    def alive(self) -> str | None:
        """None while it runs, else why not (``exited with code 137``)."""

    def stop(self) -> None: ...


def log_tail(path: str | Path | None, lines: int = LOG_TAIL_LINES) -> str:
    """The last ``lines`` lines of a log file ('' when there is none)."""
    if not path:
        return ""
    try:
        with open(path, "rb") as handle:
            handle.seek(0, 2)
            size = handle.tell()
            handle.seek(max(0, size - 64 * 1024))
            data = handle.read().decode("utf-8", "replace")
    except OSError:
        return ""
    return "\n".join(data.splitlines()[-lines:])


def with_tail(message: str, log: str | None) -> str:
    tail = log_tail(log)
    if not tail:
        return message
    return f"{message}\n--- last lines of {log} ---\n{tail}"


def wait_healthy(name: str, url: str, timeout: float, alive: Callable[[], str | None],
                 log: str | None, interval: float = 0.2) -> float:
    """Poll ``url`` until it answers 2xx; returns the seconds it took. Raises TargetError
    with the log tail when the target exits first or ``timeout`` passes."""
    import httpx  # noqa: PLC0415 - only runs with targets load it

    started = time.monotonic()
    last = "no answer yet"
    with httpx.Client(timeout=5.0, trust_env=False) as client:
        while True:
            gone = alive()
            if gone is not None:
                raise TargetError(with_tail(f"target {name} {gone} before it became healthy "
                                            f"({url})", log))
            try:
                response = client.get(url)
                if response.status_code < 300:
                    return time.monotonic() - started
                last = f"HTTP {response.status_code}"
            except httpx.HTTPError as exc:
                last = type(exc).__name__
            if time.monotonic() - started > timeout:
                raise TargetError(with_tail(f"target {name} did not become healthy within "
                                            f"{timeout:g}s ({url}: {last})", log))
            time.sleep(interval)


def probe(endpoint: Endpoint, timeout: float = 3.0) -> str | None:
    """None when the target answers its health URL, else why not (for a failed request)."""
    import httpx  # noqa: PLC0415 - only runs with targets load it

    url = endpoint.health_url or endpoint.url
    try:
        with httpx.Client(timeout=timeout, trust_env=False) as client:
            response = client.get(url)
    except httpx.HTTPError as exc:
        return f"does not answer at {url} ({type(exc).__name__})"
    if response.status_code >= 500:
        return f"is unhealthy at {url} (HTTP {response.status_code})"
    return None
