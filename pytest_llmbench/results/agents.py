"""Summaries and rankings of agent task records (``metrics.kind == "agent"``).

Per (suite, model): tasks, solved, solve rate with its Wilson interval, median turns and
model calls per solved task, cost per solved task (all spend over tasks solved), median
wall time of solved tasks, pass@k over attempts; for optimisation tasks (``perf:``)
speedup@k and opt@k as code suites have them (``summary.per_k_values``: an unsolved
task counts 0) and the median agent and human speedups of solved tasks. Rankings: solve
rate, fastest, most efficient (fewest calls per solved task), cheapest, speedup. A figure
nobody measured (no task solved, an unpriced model, no timed task) is None, never 0.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable
from typing import Any

from pytest_llmbench.results.stats import wilson_interval
from pytest_llmbench.results.summary import k_order, per_k_values


def is_agent(record: dict[str, Any]) -> bool:
    metrics = record.get("metrics")
    return isinstance(metrics, dict) and metrics.get("kind") == "agent"


def _median(values: list[float]) -> float | None:
    return statistics.median(values) if values else None


def agent_summary(records: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    groups: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for record in records:
        if is_agent(record) or (record.get("outcome") == "error" and record.get("metrics")
                                and record["metrics"].get("kind") == "agent"):
            groups.setdefault((record["suite"], record["model"]), []).append(record)
    rows = []
    for (suite, model), items in sorted(groups.items()):
        judged = [r for r in items if r["outcome"] in ("passed", "failed")]
        solved = [r for r in judged if r["metrics"].get("solved")]
        costs = [r.get("cost_usd") for r in items]
        spend = None if any(c is None for c in costs) else sum(costs)  # type: ignore[arg-type]
        interval = wilson_interval(len(solved), len(judged))
        per_k: dict[str, list[float]] = {}
        timed: dict[str, list[float]] = {}
        for r in judged:
            for key, value in (r["metrics"].get("pass_at") or {}).items():
                per_k.setdefault(key, []).append(value)
            for key, value in per_k_values(r, r["outcome"]).items():
                timed.setdefault(key, []).append(value)
        perfs = [r["metrics"]["perf"] for r in solved if r["metrics"].get("perf")]
        rows.append({
            "suite": suite, "model": model, "tasks": len(items), "judged": len(judged),
            "errors": sum(r["outcome"] == "error" for r in items), "solved": len(solved),
            "solve_rate": len(solved) / len(judged) if judged else None,
            "solve_rate_ci": list(interval) if interval else None,
            "median_turns_solved": _median([r["metrics"]["turns"] for r in solved
                                            if r["metrics"].get("turns") is not None]),
            "median_calls_solved": _median([r["calls"] for r in solved if r.get("calls")]),
            "median_wall_s_solved": _median([r["metrics"]["wall_s"] for r in solved
                                             if r["metrics"].get("wall_s") is not None]),
            "cost_usd": spend,
            "cost_per_solved_usd": spend / len(solved) if spend is not None and solved else None,
            "lines_changed_solved": _median([r["metrics"].get("lines_added", 0)
                                             + r["metrics"].get("lines_removed", 0)
                                             for r in solved]),
            **{k: sum(v) / len(v) for k, v in sorted(per_k.items())},
            **({"timed_tasks": sum(1 for r in judged if r["metrics"].get("perf")),
                "median_speedup_solved": _median([p["speedup"] for p in perfs
                                                  if p.get("speedup") is not None]),
                "median_human_speedup": _median([p["human_speedup"] for p in perfs
                                                 if p.get("human_speedup") is not None]),
                **{k: sum(v) / len(v) for k, v in sorted(timed.items(), key=lambda kv: k_order(kv[0]))}}
               if any(r["metrics"].get("perf") for r in judged) else {}),
        })
    return rows


RANKINGS = (("solve rate", "solve_rate", True), ("fastest", "median_wall_s_solved", False),
            ("most efficient", "median_calls_solved", False),
            ("cheapest", "cost_per_solved_usd", False), ("speedup", "speedup_at_1", True))


def rankings(rows: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """Per suite and ranking: models in order (those without the figure left out)."""
    out: dict[str, list[dict[str, Any]]] = {}
    for suite in sorted({r["suite"] for r in rows}):
        mine = [r for r in rows if r["suite"] == suite]
        for title, key, high in RANKINGS:
            ranked = sorted((r for r in mine if r.get(key) is not None),
                            key=lambda r, k=key, h=high: -r[k] if h else r[k])  # type: ignore[misc]
            out.setdefault(suite, []).append(
                {"ranking": title, "key": key,
                 "order": [{"model": r["model"], "value": r[key]} for r in ranked]})
    return out
