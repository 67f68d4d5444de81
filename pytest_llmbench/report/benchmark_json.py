"""github-action-benchmark's custom JSON: one file of bigger-is-better figures, one of
smaller-is-better figures, each a list of ``{"name", "unit", "value"[, "range", "extra"]}``
(its ``customBiggerIsBetter`` / ``customSmallerIsBetter`` tools).

One entry per summary row (suite x model [x variant] [@ target]) and figure. Only
measured figures are written: a figure a run could not measure (an unpriced model's
cost, the times of answers from the cache) is left out, never written as 0, so the
action's chart shows a gap rather than a false drop.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

BIGGER_FILE = "benchmark-bigger-is-better.json"
SMALLER_FILE = "benchmark-smaller-is-better.json"

# (summary key, figure name, unit, scale)
_BIGGER = (("accuracy", "accuracy", "%", 100.0), ("output_tps", "output tok/s", "tokens/s", 1.0))
_SMALLER = (("latency_p50", "latency p50", "s", 1.0), ("latency_p95", "latency p95", "s", 1.0),
            ("ttft_p50", "TTFT p50", "s", 1.0), ("cost_usd", "cost", "USD", 1.0))


def _row_name(row: dict[str, Any]) -> str:
    parts = [str(row.get("suite")), str(row.get("model"))]
    if row.get("variant"):
        parts.append(str(row["variant"]))
    name = " / ".join(parts)
    return f"{name} @ {row['target']}" if row.get("target") else name


def _entry(row: dict[str, Any], key: str, figure: str, unit: str, scale: float,
           run_id: str) -> dict[str, Any] | None:
    value = row.get(key)
    if not isinstance(value, int | float) or isinstance(value, bool):
        return None
    entry: dict[str, Any] = {"name": f"{_row_name(row)} - {figure}", "unit": unit,
                             "value": value * scale}
    low, high = row.get(f"{key}_ci_low"), row.get(f"{key}_ci_high")
    if isinstance(low, int | float) and isinstance(high, int | float):
        entry["range"] = f"95% CI {low * scale:.1f} - {high * scale:.1f}"
    entry["extra"] = f"n={row.get('n')}\nrun={run_id}"
    return entry


def _pass_at_k(row: dict[str, Any]) -> list[tuple[str, str, str, float]]:
    return [(key, key.replace("_at_", "@"), "%", 100.0) for key in sorted(row)
            if key.startswith("pass_at_")]


def benchmark_entries(rows: list[dict[str, Any]], run_id: str
                      ) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(bigger-is-better, smaller-is-better) entries of the summary rows."""
    bigger: list[dict[str, Any]] = []
    smaller: list[dict[str, Any]] = []
    for row in rows:
        for figures, out in (((*_BIGGER, *_pass_at_k(row)), bigger), (_SMALLER, smaller)):
            for key, figure, unit, scale in figures:
                entry = _entry(row, key, figure, unit, scale, run_id)
                if entry is not None:
                    out.append(entry)
    return bigger, smaller


def write_benchmark_json(folder: Path, rows: list[dict[str, Any]], run_id: str) -> list[Path]:
    """Write both files into ``folder`` (made if missing); their paths."""
    folder.mkdir(parents=True, exist_ok=True)
    bigger, smaller = benchmark_entries(rows, run_id)
    paths = []
    for name, entries in ((BIGGER_FILE, bigger), (SMALLER_FILE, smaller)):
        path = folder / name
        path.write_text(json.dumps(entries, indent=2) + "\n", encoding="utf-8")
        paths.append(path)
    return paths


__all__ = ["BIGGER_FILE", "SMALLER_FILE", "benchmark_entries", "write_benchmark_json"]
