"""The serving section of report.html: per-point figures and bounded latency-over-time series.

A point's raw samples can hold 100,000 requests; the page gets at most
``MAX_SHOWN`` of them per point. Short runs keep every request; longer ones are
cut into ``MAX_SHOWN / 2`` time bins and keep, per bin, the request with the
median E2E and the slowest one, so the trend and the spikes both survive.
Failed requests are kept as send times (at most ``MAX_FAILED``).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from pytest_llmbench.errors import LLMBenchError
from pytest_llmbench.serving.metrics import RequestSample
from pytest_llmbench.serving.samples import has_samples, read_samples

MAX_SHOWN = 600
MAX_FAILED = 200
_STATS = ("p50", "p99")


def serving_view(records: list[dict[str, Any]], run_path: Path) -> list[dict[str, Any]]:
    """One entry per serving record, in run order (empty when the run has none)."""
    return [_point(record, run_path) for record in records]


def _point(record: dict[str, Any], run_path: Path) -> dict[str, Any]:
    metrics = record.get("metrics") or {}
    point = metrics.get("point") or {}
    serving = metrics.get("serving") or {}
    harness = metrics.get("harness") or {}
    axis = "concurrency" if point.get("concurrency") is not None else "rate"
    value = point.get(axis)
    case_id = str(record.get("case_id"))
    out: dict[str, Any] = {
        "suite": record.get("suite"), "model": record.get("model"),
        "target": record.get("target"), "point": case_id, "axis": axis, "x": value,
        # points of one scenario share the id prefix: c1, c16 -> "c"; chat-1 -> "chat-"
        "scenario": re.sub(r"[0-9.]+$", "", case_id) or axis[0],
        "outcome": record.get("outcome"), "error": record.get("error"),
        "slo_failures": metrics.get("slo_failures") or [],
        "unreliable": harness.get("unreliable"), "cpu_cores": harness.get("cpu_cores"),
        "hosts": len(metrics.get("merged_from") or []) or None,
    }
    for key in ("requests", "completed", "errors", "request_throughput", "output_throughput",
                "goodput", "duration_s"):
        out[key] = serving.get(key)
    for metric in ("ttft", "tpot", "itl", "e2e"):
        stats = serving.get(f"{metric}_ms") or {}
        for stat in _STATS:
            out[f"{metric}_{stat}"] = stats.get(stat)
    out["series"] = None
    if has_samples(record):
        try:
            out["series"] = latency_series(read_samples(run_path, record).window.samples)
        except LLMBenchError as exc:
            out["series_error"] = str(exc)
    return out


def latency_series(samples: list[RequestSample], limit: int = MAX_SHOWN
                   ) -> dict[str, Any]:
    """``t`` (s since the window start), ``ttft`` and ``e2e`` (ms) of at most ``limit``
    requests, and the send times of failed ones."""
    ok = sorted((s for s in samples if s.ok and s.e2e is not None), key=lambda s: s.sent)
    failed = [round(s.sent, 3) for s in samples if not s.ok]
    if len(failed) > MAX_FAILED:
        step = len(failed) / MAX_FAILED
        failed = [failed[int(i * step)] for i in range(MAX_FAILED)]
    shown = ok if len(ok) <= limit else _thin(ok, limit)
    return {"t": [round(s.sent, 4) for s in shown],
            "ttft": [None if s.ttft is None else round(s.ttft * 1000, 3) for s in shown],
            "e2e": [round((s.e2e or 0.0) * 1000, 3) for s in shown],
            "failed": sorted(failed), "shown": len(shown), "total": len(ok)}


def _thin(ok: list[RequestSample], limit: int) -> list[RequestSample]:
    """Per time bin, the request with the median E2E and the slowest one."""
    bins = max(1, limit // 2)
    start, end = ok[0].sent, ok[-1].sent
    width = (end - start) / bins or 1.0
    buckets: list[list[RequestSample]] = [[] for _ in range(bins)]
    for sample in ok:
        buckets[min(bins - 1, int((sample.sent - start) / width))].append(sample)
    kept: list[RequestSample] = []
    for bucket in buckets:
        if not bucket:
            continue
        by_e2e = sorted(bucket, key=lambda s: s.e2e or 0.0)
        picks = {id(by_e2e[len(by_e2e) // 2]): by_e2e[len(by_e2e) // 2], id(by_e2e[-1]): by_e2e[-1]}
        kept += sorted(picks.values(), key=lambda s: s.sent)
    return kept
