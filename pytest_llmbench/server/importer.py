"""``llmbench server import``: a run directory made before the server (or never posted)
goes through the same batches and the same store as a live ingest, so importing twice,
or importing a run that was also posted, stores nothing twice."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from pytest_llmbench.errors import ConfigError
from pytest_llmbench.report.ingest_spool import encode, idempotency_key, payload_from_run_dir, split_batches
from pytest_llmbench.results.run_dir import RUN_FILE
from pytest_llmbench.server.db import Database
from pytest_llmbench.server.ingest import IngestRejected, spool_file, store_batch


def import_run(db: Database, path: Path, batch_size: int = 1000) -> tuple[int, int]:
    """(records stored now, records in the run)."""
    if not (path / RUN_FILE).is_file():
        raise ConfigError(f"not a run directory ({RUN_FILE} is missing)")
    payload = payload_from_run_dir(path)
    payload["run_id"] = payload.get("run_id") or path.name
    payload["run"].setdefault("run_id", payload["run_id"])
    stored = total = 0
    batches = split_batches(payload, batch_size)
    for batch in batches:
        body = encode(batch)
        with spool_file() as handle:
            handle.write(body)
            try:
                outcome = store_batch(db, handle, idempotency_key(str(payload["run_id"]),
                                                                  batch["batch"]["index"], body))
            except IngestRejected as exc:
                raise ConfigError(f"batch {batch['batch']['index']}: {exc}") from None
        stored += outcome.stored
        total += len(batch.get("records") or [])
    return stored, total


def finished_runs(folders: list[Path]) -> list[Path]:
    """Run directories under ``folders`` whose run.json says they finished."""
    found = []
    for folder in folders:
        for path in sorted(folder.iterdir()) if folder.is_dir() else ():
            info = path / RUN_FILE
            if path.is_symlink() or not info.is_file():
                continue
            try:
                status = json.loads(info.read_text(encoding="utf-8")).get("status")
            except (OSError, ValueError):
                continue
            if status not in (None, "running"):
                found.append(path)
    return found


def watch(db: Database, folders: list[Path], interval: float, batch_size: int = 1000,
          cycles: int | None = None) -> int:
    """Import every finished run under ``folders`` now and then every ``interval`` seconds
    (a run is imported once per change of its run.json)."""
    seen: dict[Path, float] = {}
    done = 0
    while cycles is None or done < cycles:
        for path in finished_runs(folders):
            stamp = (path / RUN_FILE).stat().st_mtime
            if seen.get(path) == stamp:
                continue
            try:
                stored, total = import_run(db, path, batch_size)
            except (ConfigError, OSError, ValueError) as exc:
                print(f"llmbench server import: {path}: {exc}", file=sys.stderr, flush=True)
                continue
            seen[path] = stamp
            print(f"{path}: {stored} of {total} records stored", flush=True)
        done += 1
        if cycles is None or done < cycles:
            time.sleep(interval)
    return 0
