"""``llmbench server worker``: claims queued runs and executes each as a real pytest
session of this plugin in a subprocess, posts its records to the ingest API as they are
written, keeps the run's lease alive with progress, and stops the session with SIGINT
(what Ctrl-C sends) on cancel or time limit. A worker that dies stops renewing its lease;
another one takes the run again and finishes it with ``--llmbench-resume``, from its own
folder or, on another machine, from what the database holds (``takeover``). The time limit
and the budget hold for the whole run, over every attempt."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import httpx

from pytest_llmbench.calls.budget import SKIP_PREFIX
from pytest_llmbench.report.ingest_spool import encode, idempotency_key
from pytest_llmbench.server import jobs, takeover
from pytest_llmbench.server.catalog import RunRequest, catalog, pytest_args
from pytest_llmbench.server.db import Database
from pytest_llmbench.server.signal_event import SignalEvent

SCHEMA = "pytest-llmbench.ingest"
_COLLECTED = re.compile(rb"collected (\d+) items?(?: / (\d+) deselected)?")


@dataclass
class Progress:
    """What the run page shows, from the records the session wrote so far."""

    total: int | None = None
    done: int = 0
    outcomes: Counter[str] = field(default_factory=Counter)
    output_tokens: int = 0
    tokens_measured: bool = False
    cost_usd: float | None = None
    session_started: float = field(default_factory=time.time)
    first_record_at: float | None = None
    budget_skips: int = 0

    def add(self, record: dict[str, Any]) -> None:
        self.done += 1
        self.outcomes[str(record.get("outcome"))] += 1
        if isinstance(record.get("output_tokens"), int):
            self.output_tokens += record["output_tokens"]
            self.tokens_measured = True
        cost = record.get("cost_usd")
        if isinstance(cost, int | float):
            self.cost_usd = (self.cost_usd or 0.0) + float(cost)
        if self.first_record_at is None:
            self.first_record_at = time.time()
        if record.get("outcome") == "skipped" and SKIP_PREFIX in str(record.get("error") or ""):
            self.budget_skips += 1

    def to_dict(self) -> dict[str, Any]:
        elapsed = max(time.time() - self.session_started, 1e-9)
        return {"done": self.done, "total": self.total, "outcomes": dict(self.outcomes),
                "output_tokens": self.output_tokens if self.tokens_measured else None,
                "tokens_per_s": self.output_tokens / elapsed if self.tokens_measured else None,
                "cost_usd": self.cost_usd, "session_started": self.session_started,
                "first_record_at": self.first_record_at, "elapsed_s": elapsed,
                "budget_skips": self.budget_skips}


class RecordTail:
    """New complete lines of records.jsonl since the last read."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.offset = 0

    def read(self) -> list[dict[str, Any]]:
        try:
            with self.path.open("rb") as handle:
                handle.seek(self.offset)
                data = handle.read()
        except FileNotFoundError:
            return []
        end = data.rfind(b"\n") + 1
        self.offset += end
        out = []
        for line in data[:end].splitlines():
            if line.strip():
                try:
                    out.append(json.loads(line))
                except ValueError:
                    continue  # a torn line is written whole by the plugin's final ingest
        return out


def _die_with_parent() -> None:
    """In the child: on Linux, SIGKILL the pytest session when its worker dies, so a lost
    worker's session never keeps writing beside the one that resumes the run."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


class Worker:
    def __init__(self, db: Database, server_url: str, ingest_key: str, workdir: Path,
                 suite_dirs: list[Path], name: str | None = None, lease_s: float = 20.0,
                 poll_s: float = 1.0) -> None:
        self.db, self.server_url, self.ingest_key = db, server_url.rstrip("/"), ingest_key
        self.workdir, self.suite_dirs = workdir.resolve(), suite_dirs
        self.name = name or f"{socket.gethostname()}-{os.getpid()}"
        self.lease_s, self.poll_s = lease_s, poll_s
        self.stop = SignalEvent()  # set by the SIGTERM handler
        self.client = httpx.Client(timeout=60)

    def serve(self, once: bool = False) -> int:
        """Claim and execute runs until stopped (or, with ``once``, until the queue is empty)."""
        done = 0
        while not self.stop.is_set():
            job = jobs.claim(self.db, self.name, self.lease_s)
            if job is None:
                if once:
                    break
                self.stop.wait(self.poll_s)
                continue
            self.execute(job.id, job.run_id, job.request_json, job.attempts,
                         job.started_at or time.time())
            done += 1
        return done

    def _post(self, run_id: str, records: list[dict[str, Any]], seq: int) -> None:
        batch = {"schema": SCHEMA, "schema_version": 1, "run_id": run_id,
                 "batch": {"index": 100000 + seq, "total": 0, "kind": "records"},
                 "records": records}
        body = encode(batch)
        for attempt in range(5):
            try:
                response = self.client.post(
                    self.server_url + "/api/ingest", content=body,
                    headers={"Authorization": f"Bearer {self.ingest_key}",
                             "Content-Type": "application/json",
                             "Idempotency-Key": "live-" + idempotency_key(run_id, seq, body)})
                if response.status_code < 400:
                    return
                if response.status_code < 500:  # sending it again will not help: say so
                    print(f"llmbench worker {self.name}: run {run_id}: the server refused "
                          f"{len(records)} live records (HTTP {response.status_code}: "
                          f"{response.text[:200]}); the session's own ingest posts them again "
                          "at its end", file=sys.stderr, flush=True)
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.5 * (attempt + 1))
        # the plugin's own ingest at the end of the session posts every record again

    def execute(self, job_id: int, run_id: str, request_json: str, attempts: int,
                started_at: float | None = None) -> str:
        req = RunRequest(**json.loads(request_json))
        run_dir = self.workdir / ".llmbench" / "runs" / run_id
        if attempts > 1:  # another worker's attempt: bring this folder up to the database
            takeover.rebuild(self.db, run_id, run_dir)
        resume = attempts > 1 and (run_dir / "run.json").exists()
        progress = Progress()
        tail = RecordTail(run_dir / "records.jsonl")
        if resume:
            for record in tail.read():
                progress.add(record)
        budget = req.params.get("budget_usd")
        if budget is not None and progress.cost_usd:  # the budget is the whole run's
            req = replace(req, params={**req.params,
                                       "budget_usd": max(budget - progress.cost_usd, 1e-9)})
        args = pytest_args(req, catalog(self.suite_dirs))
        args += ["--llmbench-resume", run_id] if resume else ["--llmbench-run-id", run_id]
        cmd = [sys.executable, "-m", "pytest", *args, "-p", "no:cacheprovider",
               "--rootdir", str(self.workdir), "--llmbench-progress", "off",
               "--llmbench-ingest-url", self.server_url + "/api/ingest"]
        logs = self.workdir / "logs"
        logs.mkdir(parents=True, exist_ok=True)
        log_path = logs / f"{run_id}.{attempts}.log"
        env = {**os.environ, "INGEST_API_KEY": self.ingest_key}
        run_started = started_at or progress.session_started
        info_saved = False
        time_limit = req.params.get("time_limit_s")
        with log_path.open("wb") as log:
            proc = subprocess.Popen(cmd, cwd=self.workdir, env=env, stdout=log,
                                    stderr=subprocess.STDOUT, start_new_session=True,
                                    preexec_fn=_die_with_parent if sys.platform == "linux" else None)
        stopping: str | None = None
        seq = 0
        ours = True
        while True:
            exited = proc.poll() is not None
            fresh = tail.read()
            for record in fresh:
                progress.add(record)
            if fresh:
                seq += 1
                self._post(run_id, fresh, seq)
            if progress.total is None:
                found = _COLLECTED.search(log_path.read_bytes()[:200000])
                if found:
                    progress.total = int(found.group(1)) - int(found.group(2) or 0)
            if not info_saved and (run_dir / "run.json").exists():
                info_saved = takeover.save_info(self.db, job_id,
                                                (run_dir / "run.json").read_text("utf-8", "replace"))
            if exited:
                break
            ours, cancel = jobs.renew(self.db, job_id, self.name, self.lease_s, progress.to_dict())
            if not stopping:
                if cancel:
                    stopping = "cancelled"
                elif time_limit and time.time() - run_started > time_limit:
                    stopping = f"stopped at its time limit of {time_limit:g} s"
                elif not ours or self.stop.is_set():
                    stopping = "abandoned"
                if stopping:
                    os.killpg(proc.pid, signal.SIGINT)  # what Ctrl-C sends: records are kept
            self.stop.wait(self.poll_s) if not self.stop.is_set() else time.sleep(self.poll_s)
        rc = proc.returncode
        if stopping == "cancelled":
            status, message = "cancelled", "cancelled while running; finished items kept"
        elif stopping and stopping != "abandoned":
            status, message = "failed", stopping
        elif progress.budget_skips:
            status = "failed"
            message = (f"stopped at its budget of ${budget:g}: ${progress.cost_usd or 0:.4f} "
                       f"spent, {progress.budget_skips} items skipped")
        elif rc in (0, 1):
            status, message = "done", None
        else:
            lines = log_path.read_text("utf-8", "replace").strip().splitlines()
            status, message = "failed", f"pytest exited {rc}: " + (lines[-1] if lines else "")
        if stopping == "abandoned" and not self.stop.is_set():
            return "abandoned"
        if stopping == "abandoned":  # this worker is shutting down: let another resume it
            jobs.release(self.db, job_id, self.name)
            return "released"
        jobs.finish(self.db, job_id, self.name, status, message, progress.to_dict())
        return status


def main(db: Database, server_url: str, ingest_key: str, workdir: Path, suite_dirs: list[Path],
         once: bool = False, lease_s: float = 20.0) -> int:
    worker = Worker(db, server_url, ingest_key, workdir, suite_dirs, lease_s=lease_s)

    def stop(_sig: int, _frame: Any) -> None:
        worker.stop.set()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    print(f"llmbench worker {worker.name}: taking runs from the queue, sessions in {worker.workdir}",
          flush=True)
    worker.serve(once=once)
    return 0


def start_in_process(db: Database, server_url: str, ingest_key: str, workdir: Path,
                     suite_dirs: list[Path]) -> Worker:
    """One worker thread inside the server (SQLite deployments)."""
    worker = Worker(db, server_url, ingest_key, workdir, suite_dirs, name=f"inproc-{os.getpid()}")
    threading.Thread(target=worker.serve, name="llmbench-run-worker", daemon=True).start()
    return worker
