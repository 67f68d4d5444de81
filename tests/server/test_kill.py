"""The plugin's spool and the server together: the server is SIGKILLed while a pytest run
posts to it; every batch the plugin marked acknowledged is in the database, and after a
restart ``llmbench ingest RUN`` completes the run with each item exactly once."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from sqlalchemy import select

from pytest_llmbench.server.db import Database
from pytest_llmbench.server.models import Item, Run
from tests.server.conftest import Server, bench_run, read_jsonl


def _stored_nodeids(db_url: str, run_id: str) -> list[str]:
    db = Database(db_url)
    try:
        with db.session() as session:
            return list(session.scalars(select(Item.nodeid).join(Run, Run.id == Item.run_pk)
                                        .where(Run.run_id == run_id)))
    finally:
        db.dispose()


def test_server_killed_mid_ingest_loses_nothing_acknowledged(server: Server, tmp_path: Path) -> None:
    run_id = "killed-run"
    killed = threading.Event()

    def killer() -> None:
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline:
            runs = server.get("/api/runs", params={"q": run_id}).json()["runs"]
            if runs and runs[0]["items"] >= 30:
                server.proc.send_signal(signal.SIGKILL)
                killed.set()
                return
            time.sleep(0.05)

    watcher = threading.Thread(target=killer)
    watcher.start()
    try:
        proc, run_dir = bench_run(tmp_path / "run", run_id=run_id, rows=80, extra=[
            "--llmbench-ingest-url", server.url + "/api/ingest", "--llmbench-ingest-batch-size", "2",
            "--llmbench-ingest-timeout", "3"], env={"INGEST_API_KEY": server.key("ingest")})
    finally:
        watcher.join()
        server.restart()  # the next tests of this module need it, and so does the resend below
    assert killed.is_set(), "the server was never killed: " + proc.stdout[-2000:]
    records = read_jsonl(run_dir / "records.jsonl")
    state = json.loads((run_dir / "ingest" / "state.json").read_text())
    acked = [b for b in state["batches"] if b["status"] == "acked"]
    pending = [b for b in state["batches"] if b["status"] != "acked"]
    assert pending, "the kill left nothing to resend"
    assert "spooled in" in proc.stdout
    stored = set(_stored_nodeids(server.database_url, run_id))
    by_batch = {b["index"]: records[(b["index"] - 1) * 2:b["index"] * 2] for b in acked if b["index"]}
    for index, batch_records in by_batch.items():
        missing = {r["nodeid"] for r in batch_records} - stored
        assert not missing, f"batch {index} was acknowledged but {missing} are not stored"
    resend = subprocess.run(
        [str(Path(sys.executable).parent / "llmbench"), "ingest", str(run_dir), "--url",
         server.url + "/api/ingest"], capture_output=True, text=True, timeout=300, check=False,
        env={**os.environ, "INGEST_API_KEY": server.key("ingest")})
    assert resend.returncode == 0, resend.stdout + resend.stderr
    nodeids = _stored_nodeids(server.database_url, run_id)
    assert len(nodeids) == len(set(nodeids)) == len(records) == 160
    detail = server.get(f"/api/runs/{run_id}").json()
    assert detail["items"] == 160 and detail["status"] == "completed"
