"""The summary table printed at the end of a run."""

from __future__ import annotations

from typing import Any

from pytest_llmbench.report.text_table import fit_table
from pytest_llmbench.results.summary import extra_columns

COLUMNS = (
    ("suite", "suite", "{}"), ("model", "model", "{}"), ("n", "n", "{}"),
    ("pass", "passed", "{}"), ("fail", "failed", "{}"), ("err", "errors", "{}"),
    ("accuracy [95% CI]", "accuracy", None), ("p50 s", "latency_p50", "{:.3f}"),
    ("p95 s", "latency_p95", "{:.3f}"), ("ttft p50", "ttft_p50", "{:.3f}"),
    ("tok/s", "output_tps", "{:.1f}"), ("cost $", "cost_usd", "{:.6f}"),
)
_TIMED = ("latency_p50", "latency_p95", "ttft_p50", "output_tps")
TARGET_COLUMNS = (("target", "target", "{}"), ("commit", "commit", "{:.12}"))
VARIANT_COLUMN = ("variant", "variant", None)
SPEEDUP_COLUMNS = (("speedup", "speedup", "{:.2f}x"), ("tok/s ratio", "tps_ratio", "{:.2f}x"))


def _header(name: str) -> str:
    """``pass_at_5`` -> ``pass@5``."""
    prefix, _, k = name.rpartition("_at_")
    return f"{prefix}@{k}" if prefix else name


def _format(row: dict[str, Any], key: str, fmt: str | None) -> str:
    if key == "variant":  # the best variant of its suite x model is starred
        return f"{row.get('variant') or '-'}{' *' if row.get('best_variant') else ''}"
    if key == "model" and row.get("label"):  # the models config's display_name / label
        return str(row["label"])
    if key == "accuracy":
        acc = row.get("accuracy")
        if acc is None:
            return "-"
        return f"{acc:.1%} [{row['accuracy_ci_low']:.1%}, {row['accuracy_ci_high']:.1%}]"
    value = row.get(key)
    if value is None and key in _TIMED and row.get("cached") and not row.get("agent_tasks"):
        return "cached"  # answers from the cache or a recording: not measured in this run
    if value is None:
        return "unknown" if key == "cost_usd" else "-"
    return fmt.format(value) if fmt else str(value)


def _columns(rows: list[dict[str, Any]]) -> tuple[tuple[tuple[str, str, str | None], ...], int]:
    """The table's columns and how many are text (left-aligned): with target, commit and
    speedups when targets ran."""
    variant = (VARIANT_COLUMN,) if any(row.get("variant") for row in rows) else ()
    if not any(row.get("target") for row in rows):
        return COLUMNS[:2] + variant + COLUMNS[2:], 2 + len(variant)
    return (COLUMNS[:2] + variant + TARGET_COLUMNS + COLUMNS[2:] + SPEEDUP_COLUMNS,
            4 + len(variant))


ABBREVIATED_NOTE = "(names abbreviated; summary.json and summary.csv have them whole)"


def summary_table(rows: list[dict[str, Any]], width: int = 100) -> list[str]:
    """The table in at most ``width`` columns: long names abbreviated, further figure
    columns wrapped into blocks under the same suite and model (``report.text_table``)."""
    base, text_columns = _columns(rows)
    columns = [*base, *((_header(name), name, "{}" if name == "batch_items" else "{:.3f}")
                        for name in extra_columns(rows))]
    cells = [[header for header, _, _ in columns]]
    cells += [[_format(row, key, fmt) for _, key, fmt in columns] for row in rows]
    table = fit_table(cells, keys=text_columns, width=width, last=1)  # the model
    return table.lines + ([ABBREVIATED_NOTE] if table.abbreviated else [])
