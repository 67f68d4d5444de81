"""Exports of a stored run through the report's own writers: the run is written out as a
run directory (run.json, records.jsonl, summary.json, report.html) in a temporary folder,
then ``report/export_csv``, ``export_pdf`` or ``export`` (signed zip) make the file."""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path

import orjson

from pytest_llmbench.report.export import ExportError, export_run, verify_bundle
from pytest_llmbench.results.run_dir import RECORDS_FILE, RUN_FILE, write_json
from pytest_llmbench.server import queries
from pytest_llmbench.server.db import Database

FORMATS = {"csv": "text/csv; charset=utf-8", "pdf": "application/pdf", "zip": "application/zip"}


def write_run_dir(db: Database, run_id: str, folder: Path) -> Path:
    info, records = queries.run_records(db, run_id)
    rows = queries.summary_rows(db, run_id)
    path = folder / "run"
    path.mkdir()
    write_json(path / RUN_FILE, info)
    with (path / RECORDS_FILE).open("wb") as handle:
        for record in records:
            handle.write(orjson.dumps(record) + b"\n")
    write_json(path / "summary.json", {"rows": rows, "gate_failures": info.get("gate_failures") or []})
    return path


def export(db: Database, run_id: str, fmt: str, folder: Path, signing_key: Path | None) -> Path:
    """The export file, written under ``folder`` (the caller removes it)."""
    path = write_run_dir(db, run_id, folder)
    out = folder / f"{run_id}.{fmt}"
    if fmt == "csv":
        from pytest_llmbench.report.export_csv import write_csv
        from pytest_llmbench.report.export_data import load_run

        return write_csv(load_run(path), out)
    if fmt == "pdf":
        from pytest_llmbench.report.export_data import load_run
        from pytest_llmbench.report.export_pdf import write_pdf

        return write_pdf(load_run(path), out)
    if fmt == "zip":
        from pytest_llmbench.report.html import write_report

        write_report(path)
        return export_run(path, out, key_file=signing_key)
    raise ExportError(f"unknown export format {fmt!r} (csv, pdf or zip)")


@dataclass
class VerifyResult:
    verdict: str  # valid | untrusted | invalid
    reason: str
    fingerprint: str | None = None
    files: int = 0

    def to_dict(self) -> dict[str, object]:
        return {"verdict": self.verdict, "reason": self.reason, "fingerprint": self.fingerprint,
                "files": self.files}


def verify(bundle: Path, public_key: Path | None, trusted: list[Path]) -> VerifyResult:
    """valid: every file matches a manifest signed by a trusted key (the uploaded one, else
    one the server was started with); untrusted: intact, but unsigned or signed by a key
    nobody vouched for; invalid: what was altered, added, missing or mis-signed."""
    try:
        for key in [public_key] if public_key else trusted:  # an uploaded key is the only judge
            check = verify_bundle(bundle, key)
            if check.valid and check.trusted:
                return VerifyResult("valid", check.summary(), check.fingerprint, check.files)
        check = verify_bundle(bundle, None)
    except ExportError as exc:
        return VerifyResult("invalid", str(exc).replace(str(bundle), "the upload"))
    except Exception as exc:  # a malformed key file: named, never a 500
        return VerifyResult("invalid", f"cannot read the public key ({type(exc).__name__}: {exc})")
    if not check.valid:
        return VerifyResult("invalid", check.summary(), check.fingerprint, check.files)
    if public_key is not None:
        why = (f"signed by another key ({check.fingerprint}) than the uploaded public key"
               if check.signed else "the bundle is not signed")
        return VerifyResult("invalid", why, check.fingerprint, check.files)
    return VerifyResult("untrusted", check.summary(), check.fingerprint, check.files)


def temp_folder() -> tempfile.TemporaryDirectory[str]:
    return tempfile.TemporaryDirectory(prefix="llmbench-export-")
