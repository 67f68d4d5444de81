"""The comparison as a terminal table: one line per (suite, model, target, candidate)."""

from __future__ import annotations

from typing import Any

from pytest_llmbench.report.compare_serving import serving_lines
from pytest_llmbench.report.text_table import fit_table
from pytest_llmbench.results.regression import row_label

_RELATIVE = (("p50", "latency_p50"), ("p95", "latency_p95"), ("ttft p50", "ttft_p50"),
             ("tok/s", "output_tps"), ("cost", "cost_usd"))


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value:.1%}"


def _accuracy(row: dict[str, Any]) -> str:
    m = row["metrics"]["accuracy"]
    if m["delta"] is None:
        return f"{_pct(m['baseline'])} -> {_pct(m['candidate'])}"
    mark = "!" if m["flagged"] else ""
    return f"{_pct(m['baseline'])} -> {_pct(m['candidate'])} ({m['delta'] * 100:+.1f}pt){mark}"


def _paired(row: dict[str, Any]) -> str:
    p = row.get("paired")
    if not p:
        return "-"
    ci = ""
    if p["ci_low"] is not None:
        ci = f" [{p['ci_low'] * 100:+.1f}, {p['ci_high'] * 100:+.1f}]"
    star = "*" if row["significant"] else ""
    return f"n={p['n']} {p['pass_to_fail']}v{p['fail_to_pass']}{ci} p={p['mcnemar_p']:.3g}{star}"


def _relative(metric: dict[str, Any]) -> str:
    if metric["relative"] is None:
        return "-" if metric["delta"] in (None, 0) else f"{metric['delta']:+.3g}"
    mark = "!" if metric["flagged"] else ""
    return f"{metric['relative']:+.1%}{mark}"


def _ratio(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}x"


def compare_table(doc: dict[str, Any], width: int = 100) -> list[str]:
    """Header lines naming the sides, then the table in at most ``width`` columns (wrapped
    under the row names), then the legend."""
    own = len({c.get("baseline") or doc["baseline"]["label"] for c in doc["candidates"]}) > 1
    lines = [] if own else [f"baseline: {doc['baseline']['label']}"]
    lines += [f"candidate: {c['label']}" + (f" (baseline {c['baseline']})" if own else "")
              for c in doc["candidates"]]
    several = len(doc["candidates"]) > 1
    header = ["suite x model", *(["candidate"] if several else []), "accuracy",
              "paired: n p->f v f->p [95% CI pt] McNemar p", "err",
              *(name for name, _ in _RELATIVE), "speedup", "tput", "regressions"]
    cells = [header]
    for row in doc["rows"]:
        metrics = row["metrics"]
        err = metrics["error_rate"]
        cells.append([
            row_label(row), *([row["candidate"]] if several else []), _accuracy(row), _paired(row),
            "-" if err["delta"] is None else f"{err['delta'] * 100:+.1f}pt",
            *(_relative(metrics[key]) for _, key in _RELATIVE),
            _ratio(row["speedup"]), _ratio(row["throughput_ratio"]),
            ", ".join(row["regressions"]) or "-",
        ])
    lines += fit_table(cells, keys=2 if several else 1, width=width, left=len(header)).lines
    lines.append("* McNemar p < 0.05 on the shared cases; ! worse beyond the flag threshold;")
    lines.append("speedup = baseline p50 / candidate p50; tput = candidate tok/s / baseline tok/s")
    return lines + serving_lines(doc)


def gate_lines(doc: dict[str, Any]) -> list[str]:
    if not doc["regression_gates"]:
        return []
    if not doc["gate_failures"]:
        return ["all regression gates passed"]
    return [f"FAIL regression {failure}" for failure in doc["gate_failures"]]
