"""``llmbench export --format csv``: one CSV of the run's summary, with the run in every row.

Each row is a model x suite (x variant x target) summary row prefixed by the run's id,
start time, status and git commit, so exports of several runs concatenate into one
table for a spreadsheet. Unknown values (a cost without a price) are empty cells;
the per-case records are already in the run's records.csv.
"""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path
from typing import Any

from pytest_llmbench.report.export_data import RunExport
from pytest_llmbench.report.files import _cell
from pytest_llmbench.results.summary import SUMMARY_FIELDS, extra_columns

RUN_COLUMNS = ("run_id", "run_started_at", "run_status", "run_commit")


def iso_time(value: Any) -> str:
    if not isinstance(value, int | float):
        return ""
    return dt.datetime.fromtimestamp(value, dt.UTC).isoformat(timespec="seconds")


def write_csv(run: RunExport, out: Path) -> Path:
    git = run.info.get("git") if isinstance(run.info.get("git"), dict) else {}
    prefix = [run.run_id, iso_time(run.info.get("started_at")), run.info.get("status") or "",
              (git or {}).get("commit") or ""]
    columns = [*SUMMARY_FIELDS, *extra_columns(run.rows)]
    tmp = out.with_name(out.name + ".tmp")
    with tmp.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow([*RUN_COLUMNS, *columns])
        for row in run.rows:
            writer.writerow([*prefix, *(_cell(row.get(name)) for name in columns)])
    tmp.replace(out)
    return out
