"""Targets side by side: each summary row's commit and its ratios against the baseline target.

Rows of the same suite and model (``provider:model``) on different targets are
compared with the row of the target's baseline (in a multi-commit run, the baseline
target of the same commit): ``speedup`` = baseline p50 latency /
this p50 latency, ``ttft_speedup`` likewise for p50 TTFT (above 1: faster),
``tps_ratio`` = this output tokens/s / the baseline's (above 1: more throughput).
"""

from __future__ import annotations

from typing import Any

RATIOS = (("speedup", "latency_p50", True), ("ttft_speedup", "ttft_p50", True),
          ("tps_ratio", "output_tps", False))


def base_model(row: dict[str, Any]) -> str:
    """The row's model without its ``@target`` suffix."""
    model, target = str(row["model"]), row.get("target")
    suffix = f"@{target}"
    return model[:-len(suffix)] if target and model.endswith(suffix) else model


def add_target_columns(rows: list[dict[str, Any]], endpoints: dict[str, dict[str, Any]],
                       baseline: str | dict[str, str] | None) -> list[dict[str, Any]]:
    """Fill ``commit`` and the ratio columns of rows that ran against a target.
    ``baseline``: each target's baseline target (run.json's ``baselines``), or one target
    for all (a run recorded before baselines were per commit)."""
    of = baseline if isinstance(baseline, dict) else {t: baseline for t in endpoints} \
        if baseline else {}
    by_key = {(r["suite"], base_model(r), r.get("target")): r for r in rows if r.get("target")}
    for row in rows:
        target = row.get("target")
        row["commit"] = (endpoints.get(target) or {}).get("commit") if target else None
        reference = by_key.get((row["suite"], base_model(row), of.get(target))) \
            if target in of else None
        for name, metric, lower_is_better in RATIOS:
            row[name] = _ratio(reference, row, metric, lower_is_better)
    return rows


def _ratio(reference: dict[str, Any] | None, row: dict[str, Any], metric: str,
           lower_is_better: bool) -> float | None:
    if reference is None:
        return None
    ours, theirs = row.get(metric), reference.get(metric)
    if not ours or not theirs:
        return None
    return round(float(theirs) / float(ours) if lower_is_better else float(ours) / float(theirs), 4)
