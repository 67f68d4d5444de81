"""Serving results in pytest-benchmark's JSON format (``benchmarks.json``).

``pytest-benchmark compare`` and the CI actions that read its files (e.g.
github-action-benchmark) then work on serving runs: one benchmark per
(test x metric), its stats in seconds computed from the raw samples, the
summary figures (throughput, goodput, harness CPU) in ``extra_info``.
"""

from __future__ import annotations

import bisect
import datetime
import platform
import statistics
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from pytest_llmbench.results.run_dir import write_json
from pytest_llmbench.serving.metrics import RequestSample, time_values
from pytest_llmbench.serving.samples import read_samples

BENCHMARKS_FILE = "benchmarks.json"
EXPORT_METRICS = ("ttft", "tpot", "itl", "e2e")
_VERSION = "5.1.0"  # the pytest-benchmark file format this writes


def _quartiles(data: list[float]) -> tuple[float, float]:
    """pytest-benchmark's Q1/Q3 (Wikipedia's method 3 for an odd count, 2 for an even one)."""
    rounds = len(data)
    if rounds == 1:
        return data[0], data[0]
    if rounds % 2:
        n, q = rounds // 4, rounds % 4
        if q == 1:
            return (0.25 * data[n - 1] + 0.75 * data[n],
                    0.75 * data[3 * n] + 0.25 * data[3 * n + 1])
        return (0.75 * data[n] + 0.25 * data[n + 1],
                0.25 * data[3 * n + 1] + 0.75 * data[3 * n + 2])
    return statistics.median(data[: rounds // 2]), statistics.median(data[rounds // 2:])


def benchmark_stats(values: Iterable[float]) -> dict[str, Any] | None:
    """The ``stats`` of one benchmark, computed as ``pytest_benchmark.stats.Stats`` computes
    its own (same quartile method, fences, outlier counts and float operations; the samples
    in the order they were measured). pytest-benchmark is a pytest plugin, which this
    domain package may not import, so tests/serving checks the two agree."""
    data = list(values)
    if not data:
        return None
    ordered = sorted(data)
    rounds, total = len(data), sum(data)
    mean = statistics.mean(data)
    std = statistics.stdev(data) if rounds > 1 else 0
    q1, q3 = _quartiles(ordered)
    iqr = q3 - q1
    low_fence, high_fence = q1 - 1.5 * iqr, q3 + 1.5 * iqr
    if rounds == 1:
        low = high = data[0]
    else:
        low = ordered[bisect.bisect_left(ordered, low_fence)]
        high = ordered[bisect.bisect_right(ordered, high_fence) - 1]
    iqr_out = sum(1 for v in data if v < low_fence or v > high_fence)
    std_out = sum(1 for v in data if v < mean - std or v > mean + std)
    return {"min": ordered[0], "max": ordered[-1], "mean": mean, "stddev": std,
            "rounds": rounds, "median": statistics.median(data), "iqr": iqr, "q1": q1,
            "q3": q3, "iqr_outliers": iqr_out, "stddev_outliers": std_out,
            "outliers": f"{std_out};{iqr_out}", "ld15iqr": low, "hd15iqr": high,
            "ops": rounds / total if total else 0, "total": total, "iterations": 1}


def benchmark_entries(record: dict[str, Any], samples: list[RequestSample]
                      ) -> list[dict[str, Any]]:
    serving = record["metrics"]["serving"]
    extra = {key: serving[key] for key in ("request_throughput", "output_throughput",
                                           "input_throughput", "goodput", "error_rate")}
    extra.update(model=record["model"], point=record["case_id"], outcome=record["outcome"],
                 unreliable=record["metrics"].get("harness", {}).get("unreliable"))
    entries = []
    for metric in EXPORT_METRICS:
        stats = benchmark_stats(time_values(samples, metric))
        if stats is None:
            continue
        name = f"{record['suite']}[{record['model']}/{record['case_id']}]::{metric}"
        entries.append({
            "group": f"{record['suite']}:{metric}", "name": name,
            "fullname": f"{record['nodeid']}::{metric}",
            "params": {"model": record["model"], "point": record["case_id"]},
            "param": f"{record['model']}/{record['case_id']}", "extra_info": extra,
            "options": {"disable_gc": False, "timer": "perf_counter", "min_rounds": 1,
                        "max_time": 0, "min_time": 0, "warmup": False},
            "stats": stats})
    return entries


def benchmarks_document(entries: list[dict[str, Any]], commit: dict[str, Any] | None = None
                        ) -> dict[str, Any]:
    return {
        "machine_info": {"node": platform.node(), "processor": platform.processor(),
                         "machine": platform.machine(),
                         "python_implementation": platform.python_implementation(),
                         "python_version": platform.python_version(),
                         "python_compiler": platform.python_compiler(),
                         "release": platform.release(), "system": platform.system(),
                         "cpu": {}},
        "commit_info": commit or {"id": None, "dirty": False, "project": "pytest-llmbench"},
        "benchmarks": entries,
        "datetime": datetime.datetime.now(datetime.UTC).isoformat(),
        "version": _VERSION,
    }


def write_benchmarks(run_dir: Path, records: Iterable[dict[str, Any]]) -> None:
    """``benchmarks.json`` of a run's serving records, from their raw samples."""
    entries = []
    for record in records:
        if "samples_file" in record["metrics"]:
            entries += benchmark_entries(record, read_samples(run_dir, record).window.samples)
    write_json(run_dir / BENCHMARKS_FILE, benchmarks_document(entries))
