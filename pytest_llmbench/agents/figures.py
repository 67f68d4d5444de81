"""What an agent item's model calls add up to: figures that mean something for many turns.

A multi-turn task has no single latency, TTFT or decode rate, so an agent record leaves
those per-call fields absent and carries these instead, over every call of the item
(all attempts) answered live (a cached or replayed answer was not timed in this run):
generation time (sum of the calls' request-to-last-byte latencies), output tokens per
second over it (a ratio of sums, the project's one throughput definition), and the
per-call TTFTs (raw samples, so summaries can pool them; their median per item).
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable
from typing import Any

from pytest_llmbench.providers.base import Completion


def call_figures(completions: Iterable[Completion]) -> dict[str, Any]:
    live = [c for c in completions if not c.cached and not c.batch]
    timed = [c for c in live if c.latency_s is not None]
    seconds = sum(c.latency_s for c in timed if c.latency_s is not None)
    tokens = sum(c.output_tokens or 0 for c in timed)
    ttfts = [round(c.ttft_s, 6) for c in live if c.ttft_s is not None]
    return {
        "live_calls": len(live),
        "generation_s": round(seconds, 6) if timed else None,
        "output_tokens_live": tokens if timed else None,
        "model_output_tps": tokens / seconds if timed and seconds > 0 and tokens else None,
        "call_ttft_s": ttfts,
        "call_ttft_p50_s": statistics.median(ttfts) if ttfts else None,
    }
