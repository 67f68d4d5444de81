"""Speedups of a serving point against its baseline's same point: above 1 is better.

Throughputs (request, output tokens, goodput) are candidate / baseline; the medians of
TTFT, ITL, TPOT and end-to-end latency are baseline / candidate. A figure missing (or
zero) on either side gives no ratio, never 0 or infinity.
"""

from __future__ import annotations

from typing import Any, TypeGuard

from pytest_llmbench.results.regression import SERVING_RATES, SERVING_TIMES

SPEEDUP_TIMES = ("ttft_p50", "itl_p50", "tpot_p50", "e2e_p50")
SPEEDUPS = (*SERVING_RATES, *SPEEDUP_TIMES)


def serving_figures(serving: dict[str, Any]) -> dict[str, float | None]:
    """A point's ``metrics.serving`` as flat figures: times in seconds, rates per second."""
    out: dict[str, float | None] = {}
    for name in SERVING_TIMES:
        base, _, stat = name.rpartition("_")
        value = (serving.get(f"{base}_ms") or {}).get(stat)
        out[name] = float(value) / 1000.0 if _number(value) else None
    for name in SERVING_RATES:
        rate = serving.get(name)
        out[name] = float(rate) if _number(rate) else None
    return out


def serving_speedups(baseline: dict[str, float | None], candidate: dict[str, float | None]
                     ) -> dict[str, float | None]:
    """Per figure of :data:`SPEEDUPS`, how much better the candidate is (above 1: better)."""
    out: dict[str, float | None] = {}
    for name in SPEEDUPS:
        base, cand = baseline.get(name), candidate.get(name)
        if not base or not cand:
            out[name] = None
        else:
            out[name] = round(base / cand if name in SPEEDUP_TIMES else cand / base, 4)
    return out


def _number(value: Any) -> TypeGuard[float]:
    return isinstance(value, int | float) and not isinstance(value, bool)
