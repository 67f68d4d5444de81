"""Write summary.json, summary.csv and records.csv into a run directory."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

from pytest_llmbench.results.record import FIELD_NAMES
from pytest_llmbench.results.run_dir import RECORDS_FILE, write_json
from pytest_llmbench.results.summary import SUMMARY_FIELDS, extra_columns


def _cell(value: Any) -> Any:
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False, default=str)
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


def write_records_csv(run_path: Path) -> None:
    """records.csv from records.jsonl, streamed so large runs stay cheap."""
    source = run_path / RECORDS_FILE
    with source.open(encoding="utf-8") as src, \
            (run_path / "records.csv").open("w", encoding="utf-8", newline="") as dst:
        writer = csv.writer(dst)
        writer.writerow(FIELD_NAMES)
        for line in src:
            try:
                record = json.loads(line)
            except json.JSONDecodeError:
                continue
            writer.writerow([_cell(record.get(name)) for name in FIELD_NAMES])
