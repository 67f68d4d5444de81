"""Deterministic subset sampling: the same cases on every run and every xdist worker."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import TypeVar

from pytest_llmbench.errors import ConfigError

T = TypeVar("T")


def parse_sample(value: str | int | None, source: str = "--llmbench-sample") -> int | float | None:
    """``50`` -> 50 cases; ``5%`` -> fraction 0.05; None -> everything."""
    if value is None or value == "":
        return None
    text = str(value).strip()
    try:
        if text.endswith("%"):
            fraction = float(text[:-1]) / 100
            if not 0 < fraction <= 1:
                raise ValueError
            return fraction
        count = int(text)
        if count < 1:
            raise ValueError
        return count
    except ValueError:
        raise ConfigError(f"{source}: {value!r} is not a count (50) or a percentage (5%)") from None


def sample(items: Sequence[T], ids: Sequence[str], amount: int | float | None, seed: int,
           salt: str) -> list[T]:
    """Pick ``amount`` items by a seeded hash of their ids, kept in their original order.

    Hash ranking (not random.sample) keeps a case's membership stable when the
    dataset grows, and needs no shared RNG state between workers.
    """
    if amount is None:
        return list(items)
    k = amount if isinstance(amount, int) else max(1, round(len(items) * amount))
    if k >= len(items):
        return list(items)

    def rank(index: int) -> bytes:
        return hashlib.sha256(f"{seed}\0{salt}\0{ids[index]}".encode()).digest()

    chosen = sorted(sorted(range(len(items)), key=rank)[:k])
    return [items[i] for i in chosen]
