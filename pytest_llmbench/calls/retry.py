"""When and how long to wait before retrying a failed model call.

Retries are the engine's, the same for every provider: the SDKs' own retries
are off (``max_retries=0``, one boto3 attempt), so attempts are counted in one
place, a 429's ``retry-after`` is honoured for every API, and waits can be
coordinated with the cross-worker rate limiter.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from pytest_llmbench.config import ModelSpec
from pytest_llmbench.errors import ConfigError, ProviderError

RETRYABLE_KINDS = frozenset({"rate_limited", "server_error", "timeout", "connection"})
"""Transient failures. Auth, not-found, bad requests and content filtering would
fail the same way again, so they are never retried."""


@dataclass(frozen=True)
class RetryPolicy:
    """At most ``max_retries`` retries; each wait is the server's ``retry-after``
    or exponential backoff with full jitter, never longer than ``max_wait_s``."""

    max_retries: int = 3
    max_wait_s: float = 30.0
    base_delay_s: float = 0.5

    def delay(self, error: ProviderError, attempt: int,
              rand: Callable[[], float] = random.random) -> float | None:
        """Seconds to wait after failed attempt number ``attempt`` (1-based), or None
        when the error is final (not transient, or no retries left)."""
        if attempt > self.max_retries or error.kind not in RETRYABLE_KINDS:
            return None
        if error.retry_after is not None:
            return min(max(float(error.retry_after), 0.0), self.max_wait_s)
        return float(rand()) * min(self.max_wait_s, self.base_delay_s * 2.0 ** (attempt - 1))

    def for_model(self, spec: ModelSpec) -> RetryPolicy:
        """This policy with the model's own ``max_retries`` / ``retry_max_wait`` settings."""
        settings = spec.settings
        changes: dict[str, Any] = {}
        if settings.get("max_retries") is not None:
            changes["max_retries"] = _number(spec, "max_retries", int, minimum=0)
        if settings.get("retry_max_wait") is not None:
            changes["max_wait_s"] = _number(spec, "retry_max_wait", float, minimum=0)
        return replace(self, **changes) if changes else self


def _number(spec: ModelSpec, key: str, kind: type[int] | type[float], minimum: float) -> Any:
    raw = spec.settings[key]
    try:
        if isinstance(raw, bool) or (kind is int and isinstance(raw, float)):
            raise ValueError
        value = kind(raw)
    except (TypeError, ValueError):
        value = None
    if value is None or value < minimum:
        raise ConfigError(f"model {spec.name}: {key} must be a number >= {minimum:g}, got {raw!r}")
    return value
