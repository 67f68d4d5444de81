"""What the CSV and PDF exports show of a run, read once from its directory.

Both formats start from summary.json (the model x suite rows, gate failures) and
run.json (metadata); every string passes the scrubber, so a key quoted in a model
label, a gate message or a pytest argument never reaches an exported file.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pytest_llmbench.redaction import Scrubber
from pytest_llmbench.report.export import ExportError
from pytest_llmbench.results.run_dir import RUN_FILE

SUMMARY_FILE = "summary.json"


@dataclass
class RunExport:
    run_id: str
    info: dict[str, Any]
    rows: list[dict[str, Any]]
    gate_failures: list[str]


def _scrub(value: Any, scrub: Scrubber) -> Any:
    if isinstance(value, str):
        return scrub(value)
    if isinstance(value, dict):
        return {key: _scrub(item, scrub) for key, item in value.items()}
    if isinstance(value, list):
        return [_scrub(item, scrub) for item in value]
    return value


def _read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ExportError(f"{path}: cannot read ({exc.strerror})") from None
    except ValueError as exc:
        raise ExportError(f"{path}: not valid JSON ({exc})") from None
    if not isinstance(data, dict):
        raise ExportError(f"{path}: expected a JSON object")
    return data


def load_run(run_path: Path) -> RunExport:
    """The run's metadata and summary, scrubbed; a run without a summary is named."""
    if not (run_path / RUN_FILE).is_file():
        raise ExportError(f"{run_path}: not a run directory ({RUN_FILE} is missing)")
    if not (run_path / SUMMARY_FILE).is_file():
        raise ExportError(f"{run_path}: the run has no {SUMMARY_FILE} (it did not finish); "
                          "export it with --format zip")
    scrub = Scrubber()
    info = _scrub(_read_json(run_path / RUN_FILE), scrub)
    summary = _scrub(_read_json(run_path / SUMMARY_FILE), scrub)
    rows = summary.get("rows")
    if not isinstance(rows, list):
        raise ExportError(f"{run_path / SUMMARY_FILE}: 'rows' is missing or not a list")
    return RunExport(run_id=str(info.get("run_id") or run_path.name), info=info,
                     rows=[row for row in rows if isinstance(row, dict)],
                     gate_failures=[str(g) for g in summary.get("gate_failures") or []])


def rankings(rows: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """Per suite, its rows best first: accuracy, then the lower CI bound, then p50 latency."""
    by_suite: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        if row.get("accuracy") is not None:
            by_suite.setdefault(str(row.get("suite")), []).append(row)
    return {suite: sorted(group, key=lambda r: (-r["accuracy"], -(r.get("accuracy_ci_low") or 0),
                                                r.get("latency_p50") or float("inf")))
            for suite, group in sorted(by_suite.items())}
