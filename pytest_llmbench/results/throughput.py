"""The one definition of output tokens per second, used by every figure that shows it.

Output throughput of a model on a suite = total output tokens / total time spent
producing them (each request's latency, request sent -> last byte): a ratio of
sums, so a 2-token answer weighs 2 tokens, not one request. Answers from the cache
or a recording took no generation time and are left out. A per-request decode
rate, (output tokens - 1) / (latency - first token), is meaningful only with
several tokens (``MIN_DECODE_TOKENS``) and a measured first token; it is reported
only as a median over requests. Nothing else computes a tokens/s figure.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

MIN_DECODE_TOKENS = 4


def decode_rate(output_tokens: int | None, latency_s: float | None,
                first_token_s: float | None) -> float | None:
    """One request's decode rate, or None when it has under ``MIN_DECODE_TOKENS`` tokens
    or no measured first token (never another formula)."""
    if (not output_tokens or output_tokens < MIN_DECODE_TOKENS or latency_s is None
            or first_token_s is None):
        return None
    decode = latency_s - first_token_s
    return (output_tokens - 1) / decode if decode > 0 else None


def median_rate(rates: Iterable[float | None]) -> float | None:
    values = [r for r in rates if r is not None]
    return statistics.median(values) if values else None


@dataclass
class Throughput:
    """Output tokens and the seconds spent producing them, summed over requests."""

    tokens: int = 0
    seconds: float = 0.0

    def add_record(self, record: dict[str, Any]) -> None:
        """Count one item's calls: measured tokens and latency, none answered from a cache."""
        tokens, latency = record.get("output_tokens"), record.get("latency_s")
        if (not record.get("calls") or record.get("cached_calls") or tokens is None
                or latency is None or latency <= 0):
            return
        self.tokens += int(tokens)
        self.seconds += float(latency)

    def merge(self, other: Throughput) -> None:
        self.tokens += other.tokens
        self.seconds += other.seconds

    @property
    def tps(self) -> float | None:
        return self.tokens / self.seconds if self.seconds > 0 and self.tokens else None


def output_tps(records: Iterable[dict[str, Any]]) -> float | None:
    """Output throughput of these records (a ratio of sums)."""
    total = Throughput()
    for record in records:
        total.add_record(record)
    return total.tps
