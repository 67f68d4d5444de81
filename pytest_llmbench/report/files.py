"""Write summary.json, summary.csv and records.csv into a run directory."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

from pytest_llmbench.results.jsonl import dumps
from pytest_llmbench.results.record import FIELD_NAMES
from pytest_llmbench.results.run_dir import write_json
from pytest_llmbench.results.summary import SUMMARY_FIELDS, extra_columns

RECORDS_CSV = "records.csv"
_NESTED = (dict, list)


def _cell(value: Any) -> Any:
    if isinstance(value, _NESTED):
        return dumps(value)
    if isinstance(value, float):
        return f"{value:.6g}"
    return "" if value is None else value


def write_summary(run_path: Path, rows: list[dict[str, Any]], extra: dict[str, Any]) -> None:
    write_json(run_path / "summary.json", {**extra, "rows": rows})
    columns = [*SUMMARY_FIELDS, *extra_columns(rows)]
    with (run_path / "summary.csv").open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(columns)
        for row in rows:
            writer.writerow([_cell(row.get(name)) for name in columns])


class RecordsCsv:
    """records.csv, one row per record appended as it arrives (beside records.jsonl, the
    durable log flushed per record; this derived table is flushed by the OS and at close).

    Nested values (prompt, score details, metrics...) are JSON cells; numbers are
    written in full precision.
    """

    def __init__(self, run_path: Path) -> None:
        self._handle = (run_path / RECORDS_CSV).open("a", encoding="utf-8", newline="")
        self._writer = csv.writer(self._handle)
        if self._handle.tell() == 0:
            self._writer.writerow(FIELD_NAMES)

    def append(self, record: dict[str, Any]) -> None:
        get = record.get
        self._writer.writerow([dumps(value) if isinstance(value, _NESTED) else value
                               for value in map(get, FIELD_NAMES)])

    def close(self) -> None:
        self._handle.close()
