"""Serving metrics from raw per-request samples (vLLM ``benchmark_serving`` definitions).

TTFT = request sent -> first content token; TPOT = (E2E - TTFT) / (output
tokens - 1), requests with more than one token only; ITL = every gap between
streamed chunks, pooled over requests (a chunk of k tokens is one sample);
E2E = request sent -> last content chunk; wait = time a request waited for a
concurrency slot (rate mode with a cap), reported apart and never inside
TTFT. Throughputs divide by the wall time of the measured window, and goodput
counts the requests that meet every per-request SLO limit. Summaries are
always recomputed from raw samples, so samples from several processes merge
exactly; percentiles are never averaged.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from pytest_llmbench.serving.scenario import STATS, Slo


@dataclass
class RequestSample:
    """One measured request; times in seconds since the window start (``sent``) or as
    durations."""

    sent: float
    ok: bool = True
    ttft: float | None = None
    e2e: float | None = None
    itl: list[float] = field(default_factory=list)
    input_tokens: int = 0
    output_tokens: int = 0
    wait: float = 0.0
    error: str | None = None

    @property
    def tpot(self) -> float | None:
        if self.ttft is None or self.e2e is None or self.output_tokens < 2:
            return None
        return (self.e2e - self.ttft) / (self.output_tokens - 1)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RequestSample:
        return cls(**data)


@dataclass
class Window:
    """Samples of one measured window and its wall time."""

    samples: list[RequestSample]
    duration_s: float


def percentile(sorted_values: Sequence[float], q: float) -> float:
    """Linear interpolation between closest ranks (numpy's default)."""
    if not sorted_values:
        return math.nan
    rank = (len(sorted_values) - 1) * q / 100.0
    low = math.floor(rank)
    high = min(low + 1, len(sorted_values) - 1)
    return sorted_values[low] + (sorted_values[high] - sorted_values[low]) * (rank - low)


def describe(values: Iterable[float], scale: float = 1000.0) -> dict[str, float | int]:
    """mean, std, min, max, p50, p90, p95, p99 (in ms by default) and the count."""
    data = sorted(v * scale for v in values)
    if not data:
        return {"count": 0}
    out: dict[str, float | int] = {"count": len(data), "mean": statistics.fmean(data),
                                   "std": statistics.pstdev(data), "min": data[0],
                                   "max": data[-1]}
    for stat in STATS:
        if stat.startswith("p"):
            out[stat] = percentile(data, float(stat[1:]))
    return out


def time_values(samples: Sequence[RequestSample], metric: str) -> list[float]:
    ok = [s for s in samples if s.ok]
    if metric == "itl":
        return [gap for s in ok for gap in s.itl]
    if metric == "tpot":
        return [t for s in ok if (t := s.tpot) is not None]
    if metric == "wait":
        return [s.wait for s in samples]
    return [v for s in ok if (v := getattr(s, metric)) is not None]


def good(sample: RequestSample, limits: dict[str, float]) -> bool:
    """Whether a request meets every per-request limit (ms), e.g. {"ttft": 500}, as vLLM's
    ``benchmark_serving`` decides it: ``limit_ms / 1000 >= value`` (inclusive, in seconds),
    and a request of one output token has a TPOT of 0 (it meets any TPOT limit). Beyond
    vLLM: an ``itl`` limit holds for every gap, ``wait`` for the slot wait, and a figure
    not measured (no TTFT) fails."""
    if not sample.ok:
        return False
    for metric, limit_ms in limits.items():
        if metric == "itl":
            values: list[float | None] = list(sample.itl)
        elif metric == "tpot" and sample.output_tokens < 2 and sample.e2e is not None:
            values = [0.0]  # vLLM: "if output_len <= 1, we regard tpot as 0 for goodput"
        else:
            values = [getattr(sample, metric)]
        if any(v is None or not limit_ms / 1000.0 >= v for v in values):
            return False
    return True


def summarize(window: Window, slos: Sequence[Slo] = ()) -> dict[str, Any]:
    """Every figure of a window; ``<metric>_ms`` hold the distributions."""
    samples, duration = window.samples, window.duration_s
    ok = [s for s in samples if s.ok]
    limits: dict[str, float] = {}
    for slo in slos:
        implied = slo.per_request
        if implied is not None:
            metric, limit = implied
            limits[metric] = min(limit, limits.get(metric, math.inf))
    per_s = (lambda n: n / duration) if duration > 0 else (lambda n: math.nan)
    out: dict[str, Any] = {
        "requests": len(samples), "completed": len(ok), "errors": len(samples) - len(ok),
        "error_rate": (len(samples) - len(ok)) / len(samples) if samples else math.nan,
        "duration_s": duration,
        "input_tokens": sum(s.input_tokens for s in ok),
        "output_tokens": sum(s.output_tokens for s in ok),
        "request_throughput": per_s(len(ok)),
        "input_throughput": per_s(sum(s.input_tokens for s in ok)),
        "output_throughput": per_s(sum(s.output_tokens for s in ok)),
        "goodput": per_s(sum(good(s, limits) for s in ok)),
        "goodput_limits_ms": limits,
        # requests with under two output tokens have no TPOT; vLLM counts them as meeting it
        "tpot_exempt": sum(1 for s in ok if s.output_tokens < 2),
    }
    for metric in ("ttft", "tpot", "itl", "e2e", "wait"):
        out[f"{metric}_ms"] = describe(time_values(samples, metric))
    return out


def value_of(summary: dict[str, Any], metric: str) -> float | None:
    """The figure an SLO names: ``ttft_p99`` -> summary["ttft_ms"]["p99"]."""
    if metric in summary:
        value = summary[metric]
        return float(value) if isinstance(value, int | float) else None
    base, _, stat = metric.rpartition("_")
    value = summary.get(f"{base}_ms", {}).get(stat)
    return float(value) if isinstance(value, int | float) else None


def _vacuous_tpot(summary: dict[str, Any], slo: Slo) -> bool:
    """A TPOT limit over requests that all had one output token holds (vLLM reads their
    TPOT as 0); with no completed request at all it does not."""
    completed = summary.get("completed") or 0
    return (slo.metric.startswith("tpot_") and slo.op in ("<=", "<") and completed > 0
            and not summary.get("tpot_ms", {}).get("count")
            and summary.get("tpot_exempt") == completed)


def check_slos(summary: dict[str, Any], slos: Sequence[Slo]) -> list[str]:
    """One line per SLO that does not hold."""
    failures = []
    for slo in slos:
        value = value_of(summary, slo.metric)
        if _vacuous_tpot(summary, slo):
            continue
        if not slo.holds(value):
            shown = "no data" if value is None or math.isnan(value) else f"{value:.4g}"
            failures.append(f"SLO {slo.text} not met: {slo.metric} = {shown}")
    return failures


def merge(windows: Iterable[Window]) -> Window:
    """Windows of the same point measured side by side (xdist workers, hosts): samples
    pooled, wall time the longest window (they ran at the same time)."""
    windows = list(windows)
    return Window([s for w in windows for s in w.samples],
                  max((w.duration_s for w in windows), default=0.0))
