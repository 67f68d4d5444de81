"""Serving points in a run comparison: per matching point, latency percentiles and
throughputs old -> new with their ratios, and a Mann-Whitney U test on the raw
per-request samples where both runs kept them.

Points match by (suite, model, target, point id). Times are in seconds, like the
quality rows' latencies, so one gate (``ttft_p50 +20ms``) reads the same on both.
A time or throughput is flagged when it is worse by more than 10% and, where the
raw samples allow the test, the difference is significant (p < 0.05): a 10% shift
within the noise of 20 requests is not a regression.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pytest_llmbench.errors import LLMBenchError
from pytest_llmbench.report.compare_sides import model_key
from pytest_llmbench.results.ranktest import mann_whitney
from pytest_llmbench.results.record import is_serving
from pytest_llmbench.results.regression import (
    SERVING_RATES,
    SERVING_TIMES,
    SIGNIFICANCE,
    higher_is_better,
    row_label,
)
from pytest_llmbench.results.serving_speedup import SPEEDUPS, serving_figures, serving_speedups
from pytest_llmbench.serving.metrics import time_values
from pytest_llmbench.serving.samples import has_samples, read_samples

if TYPE_CHECKING:
    from pytest_llmbench.report.compare_sides import Side

FLAG_RELATIVE = 0.10
TESTED = ("ttft", "tpot", "itl", "e2e")
PointKey = tuple[str, str, str | None, str]


def _points(side: Side) -> dict[PointKey, dict[str, Any]]:
    out = {}
    for record in side.records:
        if is_serving(record) and record["metrics"].get("serving"):
            suite, _, target = side.key(record)
            out[(suite, model_key(record), target, str(record["case_id"]))] = record
    return out


def _figures(record: dict[str, Any]) -> dict[str, float | None]:
    return serving_figures(record["metrics"]["serving"])


def _samples(side: Side, record: dict[str, Any]) -> dict[str, list[float]] | None:
    if not has_samples(record):
        return None
    try:
        samples = read_samples(side.path, record).window.samples
    except LLMBenchError:
        return None  # figures still compare; only the test needs the raw samples
    return {metric: time_values(samples, metric) for metric in TESTED}


def _entry(name: str, base: float | None, cand: float | None, p_value: float | None
           ) -> dict[str, Any]:
    entry: dict[str, Any] = {"baseline": base, "candidate": cand, "delta": None,
                             "relative": None, "ratio": None,
                             "better": "higher" if higher_is_better(name) else "lower",
                             "change": None, "flagged": False}
    if base is None or cand is None:
        return entry
    delta = cand - base
    worse = -delta if higher_is_better(name) else delta
    entry.update(delta=delta, relative=delta / abs(base) if base else None,
                 ratio=cand / base if base else None,
                 change="same" if delta == 0 else "worse" if worse > 0 else "better")
    beyond = worse > 0 and (base == 0 or worse / abs(base) > FLAG_RELATIVE)
    entry["flagged"] = beyond and (p_value is None or p_value < SIGNIFICANCE)
    return entry


def serving_rows(baseline: Side, candidate: Side, seed: int = 0) -> list[dict[str, Any]]:
    """One row per serving point present in both runs."""
    base_points, cand_points = _points(baseline), _points(candidate)
    rows = []
    for key in sorted(base_points.keys() & cand_points.keys(),
                      key=lambda k: (k[0], k[1], k[2] or "", k[3])):
        b, c = base_points[key], cand_points[key]
        b_samples, c_samples = _samples(baseline, b), _samples(candidate, c)
        tests: dict[str, Any] = {}
        if b_samples is not None and c_samples is not None:
            for metric in TESTED:
                result = mann_whitney(b_samples[metric], c_samples[metric], seed=seed)
                if result is not None:
                    tests[metric] = result
        p_values = {name: tests[name.rpartition("_")[0]]["p"] for name in SERVING_TIMES
                    if name.rpartition("_")[0] in tests}
        b_fig, c_fig = _figures(b), _figures(c)
        metrics = {name: _entry(name, b_fig[name], c_fig[name], p_values.get(name))
                   for name in (*SERVING_TIMES, *SERVING_RATES)}
        rows.append({
            "suite": key[0], "model": key[1], "target": key[2] or candidate.target,
            "point": key[3], "baseline": baseline.label, "candidate": candidate.label,
            "baseline_n": b["metrics"]["serving"].get("completed", 0),
            "candidate_n": c["metrics"]["serving"].get("completed", 0),
            "baseline_outcome": b.get("outcome"), "candidate_outcome": c.get("outcome"),
            "metrics": metrics, "mann_whitney": tests, "p_values": p_values,
            "throughput_ratio": metrics["request_throughput"]["ratio"],
            "speedups": serving_speedups(b_fig, c_fig),
            "regressions": [name for name, m in metrics.items() if m["flagged"]],
        })
    return rows


_LABELS = {"request_throughput": "req/s", "output_throughput": "out tok/s",
           "goodput": "goodput"}


def _times(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}x"


def _value(name: str, value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value * 1000:.1f}ms" if name in SERVING_TIMES else f"{value:.2f}"


def serving_lines(doc: dict[str, Any]) -> list[str]:
    """The serving points as text: one block per point, one line per figure."""
    lines: list[str] = []
    for row in doc.get("serving") or []:
        several = len(doc["candidates"]) > 1
        lines.append(f"serving {row_label(row)}: n {row['baseline_n']} -> {row['candidate_n']}, "
                     f"SLOs {row['baseline_outcome']} -> {row['candidate_outcome']}"
                     + (f" ({row['candidate']})" if several else ""))
        cells = [["", "baseline", "candidate", "ratio", "speedup", "Mann-Whitney p"]]
        speedups = row.get("speedups") or {}
        for name, m in row["metrics"].items():
            label = _LABELS.get(name) or name.replace("_", " ").upper().replace(" P", " p")
            p_value = row["p_values"].get(name)
            cells.append([label, _value(name, m["baseline"]), _value(name, m["candidate"]),
                          "-" if m["ratio"] is None
                          else f"{m['ratio']:.2f}x{'!' if m['flagged'] else ''}",
                          "" if name not in SPEEDUPS else _times(speedups.get(name)),
                          "-" if p_value is None
                          else f"{p_value:.3g}{'*' if p_value < SIGNIFICANCE else ''}"])
        widths = [max(len(r[i]) for r in cells) for i in range(len(cells[0]))]
        for cell_row in cells:
            lines.append("  " + "  ".join(c.rjust(w) if i else c.ljust(w) for i, (c, w)
                                          in enumerate(zip(cell_row, widths, strict=True))
                                          ).rstrip())
    if lines:
        lines.append("serving: ratio = candidate / baseline; speedup: above 1 better "
                     "(throughputs candidate / baseline,")
        lines.append("p50 times baseline / candidate); ! worse by more than 10% (and "
                     "significant where tested);")
        lines.append("* Mann-Whitney p < 0.05 on the raw samples")
    return lines
