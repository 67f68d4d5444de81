"""SDK clients shared per (provider family, key, base URL, client options) per process.

Several models on one host then share one client and its connection pool.
Async clients belong to the event loop they first ran on, so the cache is kept
per running loop (the engine's, in a run); a provider built outside any loop
gets a client of its own. Clients are counted: the last provider to let go of
one closes it.
"""

from __future__ import annotations

import asyncio
import hashlib
import inspect
import json
import weakref
from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass
from typing import Any, TypeVar

T = TypeVar("T")
Closer = Callable[[Any], Awaitable[None] | None]


@dataclass
class _Entry:
    client: Any
    users: int


_BY_LOOP: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[Hashable, _Entry]] = (
    weakref.WeakKeyDictionary())


def client_key(family: str, **options: Any) -> tuple[str, str]:
    """A cache key for a client built with ``options``; secrets are hashed, never kept."""
    text = json.dumps(options, sort_keys=True, default=repr)
    return family, hashlib.sha256(text.encode()).hexdigest()


def _cache() -> dict[Hashable, _Entry] | None:
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        return None
    return _BY_LOOP.setdefault(loop, {})


def acquire(key: Hashable, build: Callable[[], T]) -> T:
    """The loop's client for ``key``, built on first use."""
    cache = _cache()
    if cache is None:
        return build()
    entry = cache.get(key)
    if entry is None:
        entry = cache[key] = _Entry(build(), 0)
    entry.users += 1
    return entry.client  # type: ignore[no-any-return]


async def release(key: Hashable, client: Any, close: Closer) -> None:
    """Let go of ``client``; it is closed once no provider of this loop uses it."""
    cache = _cache()
    entry = cache.get(key) if cache is not None else None
    if entry is not None and entry.client is client:
        entry.users -= 1
        if entry.users > 0:
            return
        del cache[key]  # type: ignore[union-attr]
    result = close(client)
    if inspect.isawaitable(result):
        await result


def shared_count() -> int:
    """How many clients this loop holds (for tests and diagnostics)."""
    cache = _cache()
    return len(cache) if cache is not None else 0
