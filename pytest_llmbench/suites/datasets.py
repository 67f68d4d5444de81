"""Dataset loaders: JSONL, JSON, CSV, inline rows, and Hugging Face ``datasets`` (extra).

Each loader yields ``(row, line)`` so a bad row is reported with its file and line.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from pytest_llmbench.errors import SuiteError
from pytest_llmbench.suites import sources

Row = tuple[dict[str, Any], int | None]


def load_jsonl(path: Path) -> Iterator[Row]:
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                raise SuiteError(path, f"invalid JSON: {exc.msg}", line=number) from None
            if not isinstance(row, dict):
                raise SuiteError(path, "each line must be a JSON object", line=number)
            yield row, number


def load_json(path: Path) -> Iterator[Row]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise SuiteError(path, f"invalid JSON: {exc.msg}", line=exc.lineno) from None
    if isinstance(data, dict):
        data = data.get("rows", data.get("data"))
    if not isinstance(data, list):
        raise SuiteError(path, "expected a list of objects (or {\"rows\": [...]})")
    for index, row in enumerate(data):
        if not isinstance(row, dict):
            raise SuiteError(path, f"row {index} is not an object")
        yield row, None


def load_csv(path: Path) -> Iterator[Row]:
    with path.open(encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        for row in reader:
            if None in row:
                raise SuiteError(path, "row has more fields than the header", line=reader.line_num)
            yield dict(row), reader.line_num


def load_hf(spec: dict[str, Any], base: Path, suite_path: Path | None = None) -> Iterator[Row]:
    """Load through Hugging Face ``datasets`` (``pip install pytest-llmbench[hf]``).

    ``hf`` is a hub id or a builder name (json, csv, parquet); ``data_files`` are
    resolved against the suite file's folder; ``map: module:function`` reshapes each row.
    A hub id is read from the local cache unless downloads are on (sources.py); data that
    cannot be had here raises DatasetUnavailable (a skip), a bad spec a SuiteError.
    """
    where = suite_path or base
    try:
        import datasets  # noqa: PLC0415 - optional extra, imported lazily
    except ImportError:
        raise sources.DatasetUnavailable(where, f"dataset 'hf: {spec['hf']}' needs the optional "
                                         "extra: pip install 'pytest-llmbench[hf]'") from None
    mapper = sources.row_mapper(spec["map"], base, where) if spec.get("map") else None
    kwargs: dict[str, Any] = {"path": spec["hf"]}
    for key in ("name", "split", "revision"):
        if spec.get(key) is not None:
            kwargs[key] = spec[key]
    kwargs.setdefault("split", "train")
    if spec.get("data_files") is not None:
        files = spec["data_files"]

        def resolve(f: str) -> str:
            return str((base / f) if not Path(f).is_absolute() else Path(f))

        kwargs["data_files"] = [resolve(f) for f in files] if isinstance(files, list) else resolve(files)
    if sources.is_hub_id(str(spec["hf"]), base):
        dataset = sources.load_hub(spec, where, datasets, kwargs)
    else:
        try:
            dataset = datasets.load_dataset(**kwargs)
        except Exception as exc:  # datasets raises many types; one line is what the user needs
            raise SuiteError(where, f"hf dataset {spec['hf']!r}: {type(exc).__name__}: {exc}") from None
    rows = ((dict(row), index + 1) for index, row in enumerate(dataset))
    yield from sources.mapped(rows, mapper, where)


LOADERS = {".jsonl": load_jsonl, ".ndjson": load_jsonl, ".json": load_json, ".csv": load_csv}


def load_file(path: Path, fmt: str | None = None) -> Iterator[Row]:
    if not path.is_file():
        raise SuiteError(path, "dataset file not found")
    suffix = f".{fmt}" if fmt else path.suffix.lower()
    loader = LOADERS.get(suffix)
    if loader is None:
        raise SuiteError(path, f"unknown dataset format {suffix!r} (known: jsonl, json, csv; "
                         "or 'hf:' for Hugging Face datasets)")
    return loader(path)
