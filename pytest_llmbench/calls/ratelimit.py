"""Requests- and tokens-per-minute limits that hold across every process of a run.

Each limited bucket (one model, or every model of a provider) is a small JSON
file in a folder the controller makes and hands to xdist workers; a
``filelock`` lock guards it. The algorithm is GCRA (a token bucket written as
"theoretical arrival times"): a call reserves its slot with one locked
read-modify-write and then sleeps until its start time, so there is no
polling, and a killed worker holds nothing (its lock is released by the OS and
unused reservations simply pass).

Tokens are reserved from an estimate before the call (prompt characters / 4 +
``max_tokens``) and corrected with the server's usage after it. A 429 halves
the bucket's effective rate for every worker and holds all of them off until
its ``retry-after``; the rate then recovers linearly (AIMD).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import math
import os
import re
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Protocol

from filelock import FileLock

from pytest_llmbench.config import ModelSpec
from pytest_llmbench.errors import ConfigError

DECREASE = 0.5
"""The effective rate is multiplied by this on a 429 ..."""
COOLDOWN_S = 1.0
"""... at most once per this many seconds (429s of calls sent together count once)."""
FLOOR = 1 / 16
"""The effective rate never falls below this share of the configured one."""
RECOVER_PER_S = 0.02
"""Share of the configured rate won back per second after a cut (half in 25 s)."""
DEFAULT_OUTPUT_ESTIMATE = 256
"""Output tokens reserved for a call without ``max_tokens`` (corrected after it)."""
LOCK_TIMEOUT_S = 30.0


@dataclass(frozen=True)
class RateLimit:
    """``rpm``: requests per minute; ``tpm``: input + output tokens per minute."""

    rpm: float | None = None
    tpm: float | None = None

    @classmethod
    def parse(cls, value: Any, where: str) -> RateLimit:
        if not isinstance(value, dict) or not value:
            raise ConfigError(f"{where}: expected a mapping like {{rpm: 600, tpm: 200000}}, "
                              f"got {value!r}")
        unknown = set(value) - {"rpm", "tpm"}
        if unknown:
            raise ConfigError(f"{where}: unknown key(s) {sorted(unknown)} (known: rpm, tpm)")
        numbers: dict[str, float | None] = {}
        for key in ("rpm", "tpm"):
            raw = value.get(key)
            if raw is None:
                numbers[key] = None
                continue
            try:
                number = float(raw) if not isinstance(raw, bool) else math.nan
            except (TypeError, ValueError):
                number = math.nan
            if not number > 0:
                raise ConfigError(f"{where}: {key} must be a number > 0, got {raw!r}")
            numbers[key] = number
        return cls(**numbers)


def provider_limits(settings: dict[str, Any], source: str) -> dict[str, RateLimit]:
    """``settings.rate_limits`` of the models config: provider name -> its shared limit."""
    raw = settings.get("rate_limits")
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise ConfigError(f"{source}: settings.rate_limits must map provider names to limits")
    return {str(name): RateLimit.parse(limit, f"{source}: settings.rate_limits.{name}")
            for name, limit in raw.items()}


def bucket_for(spec: ModelSpec, by_provider: dict[str, RateLimit]) -> tuple[str, RateLimit] | None:
    """The bucket a model draws from: its own ``rate_limit`` setting, else its provider's
    entry in ``settings.rate_limits`` (shared by every model of that provider)."""
    own = spec.settings.get("rate_limit")
    if own is not None:
        return f"model:{spec.name}", RateLimit.parse(own, f"model {spec.name}: rate_limit")
    shared = by_provider.get(spec.provider)
    return (f"provider:{spec.provider}", shared) if shared is not None else None


def estimate_tokens(messages: list[dict[str, Any]], params: dict[str, Any]) -> int:
    """Tokens to reserve before a call: prompt characters / 4 plus the output cap."""
    chars = sum(len(str(m.get("content", ""))) for m in messages)
    output = params.get("max_tokens") or params.get("max_completion_tokens")
    try:
        out = int(output) if output is not None else DEFAULT_OUTPUT_ESTIMATE
    except (TypeError, ValueError):
        out = DEFAULT_OUTPUT_ESTIMATE
    return math.ceil(chars / 4) + max(out, 0)


@dataclass
class _State:
    next_request: float = 0.0  # GCRA theoretical arrival time of the next request
    next_token: float = 0.0  # ... of the next token
    factor: float = 1.0  # share of the configured rate in force (AIMD)
    factor_at: float = 0.0
    cut_at: float = 0.0


class SharedBucket:
    """One bucket's state file; every method is one short locked read-modify-write.

    Methods block (file lock, file I/O): the engine calls them off its event loop.
    """

    def __init__(self, folder: Path, key: str, limit: RateLimit) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        name = re.sub(r"[^A-Za-z0-9._-]+", "_", key)[:60]
        digest = hashlib.sha256(key.encode()).hexdigest()[:10]
        self.path = folder / f"{name}-{digest}.json"
        self.limit = limit
        self._lock = FileLock(str(self.path) + ".lock", timeout=LOCK_TIMEOUT_S)

    def reserve(self, tokens: int = 0, unless_since: float | None = None) -> float:
        """Take a slot for one request of ``tokens``; returns seconds to wait before sending.

        With ``unless_since`` (when a reservation made then has been waited out): take a
        new slot only if a 429 cut the rate since, else return 0 at once.
        """
        with self._lock:
            state, now = self._read(), time.time()
            if unless_since is not None and state.cut_at <= unless_since:
                return 0.0
            factor = self._factor(state, now)
            start = now
            if self.limit.rpm:
                start = max(start, state.next_request)
            if self.limit.tpm and tokens:
                start = max(start, state.next_token)
            if self.limit.rpm:
                state.next_request = max(state.next_request, start) + 60.0 / (self.limit.rpm * factor)
            if self.limit.tpm and tokens:
                state.next_token = (max(state.next_token, start)
                                    + tokens * 60.0 / (self.limit.tpm * factor))
            self._write(state)
        return start - now

    def settle(self, reserved: int, used: int) -> None:
        """Correct a reservation with the tokens the call really used."""
        if not self.limit.tpm or used == reserved:
            return
        with self._lock:
            state = self._read()
            factor = self._factor(state, time.time())
            state.next_token += (used - reserved) * 60.0 / (self.limit.tpm * factor)
            self._write(state)

    def throttled(self, retry_after: float | None) -> None:
        """A 429: cut the rate for everyone (once per cooldown) and hold all off until
        ``retry_after`` has passed."""
        with self._lock:
            state, now = self._read(), time.time()
            factor = self._factor(state, now)
            if now - state.cut_at >= COOLDOWN_S:
                state.factor = max(FLOOR, factor * DECREASE)
                state.cut_at = now
            hold = now + max(retry_after or 0.0, 0.0)
            state.next_request = max(state.next_request, hold)
            state.next_token = max(state.next_token, hold)
            self._write(state)

    def effective(self) -> float:
        """The share of the configured rate now in force."""
        with self._lock:
            return self._factor(self._read(), time.time())

    @staticmethod
    def _factor(state: _State, now: float) -> float:
        if state.factor < 1.0:
            state.factor = min(1.0, state.factor + max(0.0, now - state.factor_at) * RECOVER_PER_S)
        state.factor_at = now
        return state.factor

    def _read(self) -> _State:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
            return _State(**{k: float(v) for k, v in data.items()})
        except (OSError, ValueError, TypeError):  # missing or torn: start afresh
            return _State()

    def _write(self, state: _State) -> None:
        tmp = self.path.with_name(self.path.name + f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps(asdict(state)), encoding="utf-8")
        os.replace(tmp, self.path)


class Bucket(Protocol):
    """A bucket's state, shared by every process that draws from it (a file on one machine,
    a Redis hash across machines: ``calls.coordinator``)."""

    limit: RateLimit

    def reserve(self, tokens: int = 0, unless_since: float | None = None) -> float: ...

    def settle(self, reserved: int, used: int) -> None: ...

    def throttled(self, retry_after: float | None) -> None: ...

    def effective(self) -> float: ...


class Limiter:
    """The engine's async face of one bucket: waits happen on the loop, file work off it."""

    def __init__(self, bucket: Bucket) -> None:
        self.bucket = bucket

    async def acquire(self, messages: list[dict[str, Any]], params: dict[str, Any]) -> int:
        """Wait for this call's turn; returns the tokens reserved (0 without a tpm limit)."""
        tokens = estimate_tokens(messages, params) if self.bucket.limit.tpm else 0
        since = time.time()
        wait = await asyncio.to_thread(self.bucket.reserve, tokens)
        while wait > 0:
            await asyncio.sleep(wait)
            # a 429 while this call slept holds it off too: it then queues again
            reserved_at, since = since, time.time()
            wait = await asyncio.to_thread(self.bucket.reserve, tokens, reserved_at)
        return tokens

    async def settle(self, reserved: int, input_tokens: int | None, output_tokens: int | None) -> None:
        if reserved and (input_tokens is not None or output_tokens is not None):
            await asyncio.to_thread(self.bucket.settle, reserved,
                                    (input_tokens or 0) + (output_tokens or 0))

    async def throttled(self, retry_after: float | None) -> None:
        await asyncio.to_thread(self.bucket.throttled, retry_after)


class RateLimits:
    """Every bucket of a run, resolved per model. ``folder`` is shared by all workers of
    a run; without one (a single process) a private temporary folder is used."""

    def __init__(self, by_provider: dict[str, RateLimit] | None = None,
                 folder: str | Path | None = None,
                 make_bucket: Callable[[str, RateLimit], Bucket] | None = None) -> None:
        self.by_provider = by_provider or {}
        self.make_bucket = make_bucket  # across machines: calls.coordinator.bucket_maker
        self._folder = Path(folder) if folder else None
        self._private: tempfile.TemporaryDirectory[str] | None = None
        self._limiters: dict[str, Limiter | None] = {}
        self._buckets: dict[str, Limiter] = {}

    @property
    def folder(self) -> Path:
        if self._folder is None:
            self._private = tempfile.TemporaryDirectory(prefix="llmbench-limits-")
            self._folder = Path(self._private.name)
        return self._folder

    def close(self) -> None:
        if self._private is not None:
            self._private.cleanup()

    def _bucket(self, key: str, limit: RateLimit) -> Bucket:
        if self.make_bucket is not None:
            return self.make_bucket(key, limit)
        return SharedBucket(self.folder, key, limit)

    def for_model(self, spec: ModelSpec) -> Limiter | None:
        if spec.name not in self._limiters:
            found = bucket_for(spec, self.by_provider)
            limiter = None
            if found is not None:
                key, limit = found
                limiter = self._buckets.get(key)
                if limiter is None:
                    limiter = self._buckets[key] = Limiter(self._bucket(key, limit))
            self._limiters[spec.name] = limiter
        return self._limiters[spec.name]
