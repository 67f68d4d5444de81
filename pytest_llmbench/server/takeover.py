"""Rebuild a run's directory from the database, so a worker on another machine (with its
own ``--workdir``) resumes a dead worker's run with ``--llmbench-resume``: the session's
run.json saved in the job row and the records the server already ingested are written in
the format the plugin's resume reads, and nothing ingested runs again."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from sqlalchemy import select, update

from pytest_llmbench.redaction import Scrubber
from pytest_llmbench.results.run_dir import RECORDS_FILE, RUN_FILE
from pytest_llmbench.server.db import Database
from pytest_llmbench.server.models import Item, Run, RunJob


def save_info(db: Database, job_id: int, run_json: str) -> bool:
    """Keep the session's run.json (secrets scrubbed) in the job row; False if unreadable."""
    try:
        info = json.loads(run_json)
    except ValueError:
        return False  # written while we read it: the next look finds it whole
    if not isinstance(info, dict):
        return False
    with db.write() as session:
        session.execute(update(RunJob).where(RunJob.id == job_id)
                        .values(run_info_json=Scrubber()(json.dumps(info, default=str))))
    return True


def _line(record: dict[str, Any]) -> str:
    """The format the plugin's resume rewrites records in, so a tail's offset stays true."""
    return json.dumps(record, ensure_ascii=False, default=str) + "\n"


def _local_nodeids(path: Path) -> set[str]:
    found: set[str] = set()
    try:
        lines = path.read_text("utf-8", "replace").splitlines()
    except FileNotFoundError:
        return found
    for line in lines:
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if isinstance(record, dict) and isinstance(record.get("nodeid"), str):
            found.add(record["nodeid"])
    return found


def rebuild(db: Database, run_id: str, run_dir: Path) -> int:
    """Add to ``run_dir`` what the database holds of the run and this folder lacks: run.json
    (from the job row) and every ingested record whose node id is not in records.jsonl.
    Returns the records added. Without a saved run.json and no local one, nothing is
    written (the run starts afresh)."""
    with db.session() as session:
        info = session.scalar(select(RunJob.run_info_json).where(RunJob.run_id == run_id))
        run_pk = session.scalar(select(Run.id).where(Run.run_id == run_id))
        rows = [] if run_pk is None else list(session.scalars(
            select(Item.data).where(Item.run_pk == run_pk).order_by(Item.id)))
    if not (run_dir / RUN_FILE).exists():
        if not info:
            return 0
        run_dir.mkdir(parents=True, exist_ok=True)
        (run_dir / RUN_FILE).write_text(info, encoding="utf-8")
    have = _local_nodeids(run_dir / RECORDS_FILE)
    added = []
    for data in rows:
        record = json.loads(data)
        if record.get("nodeid") not in have:
            have.add(record["nodeid"])
            added.append(_line(record))
    path = run_dir / RECORDS_FILE
    if path.exists() and path.stat().st_size and not path.read_bytes().endswith(b"\n"):
        added.insert(0, "\n")  # a torn last line stays apart (resume drops it)
    with path.open("a", encoding="utf-8") as handle:
        handle.writelines(added)
    return len(added) - (1 if added and added[0] == "\n" else 0)
