"""GitHub Actions output: the job summary (Markdown) and workflow-command annotations.

Under GitHub Actions (``GITHUB_ACTIONS=true``) a run appends its summary table, gates and
regressions to ``$GITHUB_STEP_SUMMARY`` (rendered on the run's page) and prints one
``::error`` per failed gate or regression, so they show on the pull request. Plain
Python: the plugin calls it at the end of a run.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

_COLUMNS = (("suite", "suite"), ("model", "model"), ("variant", "variant"), ("n", "n"),
            ("accuracy", "accuracy"), ("p50 s", "latency_p50"), ("p95 s", "latency_p95"),
            ("tok/s", "output_tps"), ("cost $", "cost_usd"), ("errors", "errors"))


def active(env: Mapping[str, str] | None = None) -> bool:
    env = os.environ if env is None else env
    return env.get("GITHUB_ACTIONS") == "true"


def _cell(row: dict[str, Any], key: str) -> str:
    value = row.get(key)
    if key == "model" and row.get("label"):
        value = row["label"]
    if value is None:
        return "cached" if key in ("latency_p50", "latency_p95", "output_tps") and \
            row.get("cached") else "unknown" if key == "cost_usd" else "–"
    if key == "accuracy":
        return f"{value:.1%}"
    if isinstance(value, float):
        return f"{value:.3f}" if key != "cost_usd" else f"{value:.4f}"
    return str(value).replace("|", "\\|")


def _escape(text: str) -> str:
    """A workflow command's message: %, CR and LF escaped as GitHub documents."""
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def step_summary(rows: Sequence[dict[str, Any]], gate_failures: Sequence[str],
                 regressions: Sequence[str], run_path: Path, gates: int,
                 env: Mapping[str, str] | None = None) -> str:
    """The Markdown appended to the job summary."""
    env = os.environ if env is None else env
    columns = [(h, k) for h, k in _COLUMNS if k != "variant" or any(r.get("variant") for r in rows)]
    lines = ["## llmbench", ""]
    lines.append("| " + " | ".join(h for h, _ in columns) + " |")
    lines.append("|" + "|".join("---" if k in ("suite", "model", "variant") else "---:"
                                for _, k in columns) + "|")
    lines += ["| " + " | ".join(_cell(row, k) for _, k in columns) + " |" for row in rows]
    lines.append("")
    if gate_failures or regressions:
        lines += [f"- :x: gate {failure}" for failure in gate_failures]
        lines += [f"- :x: regression {failure}" for failure in regressions]
    elif gates:
        lines.append(f"- :white_check_mark: all {gates} llmbench gates passed")
    run_url = ""
    if env.get("GITHUB_SERVER_URL") and env.get("GITHUB_REPOSITORY") and env.get("GITHUB_RUN_ID"):
        run_url = (f"{env['GITHUB_SERVER_URL']}/{env['GITHUB_REPOSITORY']}/actions/runs/"
                   f"{env['GITHUB_RUN_ID']}")
    where = f"[the run's artefacts]({run_url}#artifacts)" if run_url else "the run's artefacts"
    lines += ["", f"Run `{run_path.name}`: report.html, records and summaries in {where} "
                  f"(`{run_path}`).", ""]
    return "\n".join(lines)


def annotation_lines(gate_failures: Sequence[str], regressions: Sequence[str]) -> list[str]:
    """``::error`` workflow commands, one per failed gate or regression."""
    return ([f"::error title=llmbench gate::{_escape(f)}" for f in gate_failures]
            + [f"::error title=llmbench regression::{_escape(f)}" for f in regressions])


def write(rows: Sequence[dict[str, Any]], gate_failures: Sequence[str],
          regressions: Sequence[str], run_path: Path, gates: int) -> list[str]:
    """Append the job summary (when ``$GITHUB_STEP_SUMMARY`` is set); the annotation lines
    to print."""
    summary_file = os.environ.get("GITHUB_STEP_SUMMARY")
    if summary_file:
        with open(summary_file, "a", encoding="utf-8") as handle:
            handle.write(step_summary(rows, gate_failures, regressions, run_path, gates))
    return annotation_lines(gate_failures, regressions)


__all__ = ["active", "annotation_lines", "step_summary", "write"]
