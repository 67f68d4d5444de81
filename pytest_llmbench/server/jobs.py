"""The run queue in the database: submit, claim (row locks, so each run goes to one
worker), lease renewal with progress, cancel, lease expiry (a dead worker's run is queued
again for resumption), maintenance flag and ETAs from measured history."""

from __future__ import annotations

import json
import secrets
import statistics
import time
from typing import Any

from sqlalchemy import func, select, update

from pytest_llmbench.server.catalog import RunRequest
from pytest_llmbench.server.db import Database
from pytest_llmbench.server.models import RunJob, ServerFlag

ACTIVE = ("queued", "running")
MAINTENANCE = "maintenance"


class Conflict(ValueError):
    pass


def new_run_id() -> str:
    return time.strftime("svc-%Y%m%d-%H%M%S-", time.gmtime()) + secrets.token_hex(3)


def signature(req: dict[str, Any]) -> str:
    """Runs with the same models, suites and subset share history for ETAs."""
    return json.dumps([sorted(req.get("models", [])), sorted(req.get("suites", [])),
                       req.get("subset_pct"), req.get("sample")])


def submit(db: Database, req: RunRequest) -> RunJob:
    run_id = req.run_id or new_run_id()
    with db.write() as session:
        if session.scalar(select(RunJob.id).where(RunJob.run_id == run_id)) is not None:
            raise Conflict(f"run_id: {run_id!r} is already queued or ran")
        job = RunJob(run_id=run_id, status="queued", request_json=json.dumps(req.to_dict()),
                     created_at=time.time(), attempts=0, cancel_requested=False)
        session.add(job)
        session.flush()
        return job


def expire_leases(db: Database, now: float | None = None) -> list[str]:
    """Runs whose worker stopped renewing its lease go back to the queue (resumed later)."""
    now = now or time.time()
    with db.write() as session:
        rows = session.execute(
            update(RunJob).where(RunJob.status == "running", RunJob.lease_until < now)
            .values(status="queued", worker=None, lease_until=None,
                    message="its worker stopped answering; queued again to resume")
            .returning(RunJob.run_id)).scalars().all()
        return list(rows)


def claim(db: Database, worker: str, lease_s: float) -> RunJob | None:
    """Take the oldest queued run, or None. PostgreSQL: SELECT .. FOR UPDATE SKIP LOCKED;
    SQLite: one UPDATE .. RETURNING inside BEGIN IMMEDIATE (the database's write lock)."""
    expire_leases(db)
    now = time.time()
    values = {"status": "running", "worker": worker, "lease_until": now + lease_s,
              "attempts": RunJob.attempts + 1}
    with db.write() as session:
        if db.dialect == "postgresql":
            picked = session.scalar(select(RunJob.id).where(RunJob.status == "queued")
                                    .order_by(RunJob.id).limit(1).with_for_update(skip_locked=True))
            if picked is None:
                return None
            condition = RunJob.id == picked
        else:
            first = (select(RunJob.id).where(RunJob.status == "queued").order_by(RunJob.id)
                     .limit(1).scalar_subquery())
            condition = RunJob.id == first
        job_id = session.execute(update(RunJob).where(condition, RunJob.status == "queued")
                                 .values(**values).returning(RunJob.id)).scalar()
        if job_id is None:
            return None
        job = session.get(RunJob, job_id)
        assert job is not None
        if job.started_at is None:
            job.started_at = now
        return job


def renew(db: Database, job_id: int, worker: str, lease_s: float,
          progress: dict[str, Any] | None) -> tuple[bool, bool]:
    """Extend the lease and store progress; (still ours, cancel asked)."""
    values: dict[str, Any] = {"lease_until": time.time() + lease_s}
    if progress is not None:
        values["progress_json"] = json.dumps(progress)
    with db.write() as session:
        done = session.execute(update(RunJob).where(RunJob.id == job_id, RunJob.worker == worker,
                                                    RunJob.status == "running")
                               .values(**values).returning(RunJob.id)).scalar()
        cancel = session.scalar(select(RunJob.cancel_requested).where(RunJob.id == job_id))
    return done is not None, bool(cancel)


def finish(db: Database, job_id: int, worker: str, status: str, message: str | None,
           progress: dict[str, Any] | None) -> bool:
    values: dict[str, Any] = {"status": status, "finished_at": time.time(), "lease_until": None,
                              "message": message}
    if progress is not None:
        values["progress_json"] = json.dumps(progress)
    with db.write() as session:
        return session.execute(update(RunJob).where(
            RunJob.id == job_id, RunJob.worker == worker, RunJob.status == "running")
            .values(**values).returning(RunJob.id)).scalar() is not None


def cancel(db: Database, run_id: str) -> str:
    """A queued run is cancelled at once; a running one is asked to stop (its worker sends
    the pytest session SIGINT). Returns the status after the request."""
    with db.write() as session:
        job = session.scalar(select(RunJob).where(RunJob.run_id == run_id))
        if job is None:
            raise KeyError(run_id)
        if job.status == "queued":
            job.status, job.finished_at, job.message = "cancelled", time.time(), "cancelled while queued"
        elif job.status == "running":
            job.cancel_requested = True
        return job.status if job.status != "running" else "cancelling"


def get(db: Database, run_id: str) -> RunJob | None:
    with db.session() as session:
        return session.scalar(select(RunJob).where(RunJob.run_id == run_id))


def listing(db: Database, statuses: tuple[str, ...] = ACTIVE, limit: int = 200) -> list[dict[str, Any]]:
    """Jobs with these statuses, queued ones with their position and ETA."""
    with db.session() as session:
        rows = list(session.scalars(select(RunJob).where(RunJob.status.in_(statuses))
                                    .order_by(RunJob.id).limit(limit)))
        history = _history(session)
    out: list[dict[str, Any]] = []
    ahead = 0.0
    ahead_known = True
    position = 0
    running = [r for r in rows if r.status == "running"]
    for job in running:
        d = describe(job, history)
        if d["eta_s"] is None:
            ahead_known = False
        else:
            ahead += d["eta_s"]
    for job in rows:
        d = describe(job, history)
        if job.status == "queued":
            position += 1
            d["position"] = position
            own = d["expected_s"]
            d["eta_s"] = (ahead + own) if ahead_known and own is not None else None
            if own is None:
                ahead_known = False
            else:
                ahead += own
        out.append(d)
    return out


def _history(session: Any) -> dict[str, list[float]]:
    """Signature -> wall seconds of earlier runs that finished whole."""
    found: dict[str, list[float]] = {}
    for req, started, finished in session.execute(
            select(RunJob.request_json, RunJob.started_at, RunJob.finished_at)
            .where(RunJob.status == "done", RunJob.attempts == 1)
            .order_by(RunJob.id.desc()).limit(500)):
        if started and finished:
            found.setdefault(signature(json.loads(req)), []).append(finished - started)
    return found


def describe(job: RunJob, history: dict[str, list[float]] | None = None) -> dict[str, Any]:
    req = json.loads(job.request_json)
    progress = json.loads(job.progress_json) if job.progress_json else {}
    past = (history or {}).get(signature(req))
    expected = statistics.median(past) if past else None
    eta: float | None = None
    basis = "no history"
    if job.status == "queued":
        eta = expected
        basis = "history" if expected is not None else "no history"
    elif job.status == "running":
        done, total = progress.get("done") or 0, progress.get("total")
        elapsed = time.time() - (progress.get("session_started") or job.started_at or time.time())
        live = (total - done) * elapsed / done if done and total is not None else None
        hist = max(expected - elapsed, 0.0) if expected is not None else None
        if live is not None and hist is not None:
            eta, basis = (live + hist) / 2, "history and live rate"
        elif live is not None:
            eta, basis = live, "live rate (no history)"
        elif hist is not None:
            eta, basis = hist, "history"
    return {"run_id": job.run_id, "status": job.status, "request": req, "progress": progress,
            "created_at": job.created_at, "started_at": job.started_at,
            "finished_at": job.finished_at, "worker": job.worker, "attempts": job.attempts,
            "cancel_requested": job.cancel_requested, "message": job.message,
            "expected_s": expected, "eta_s": eta, "eta_basis": basis}


def queue_position(db: Database, run_id: str) -> tuple[int | None, float | None, str]:
    for row in listing(db):
        if row["run_id"] == run_id:
            return row.get("position"), row["eta_s"], row["eta_basis"]
    return None, None, "no history"


def maintenance(db: Database) -> bool:
    with db.session() as session:
        flag = session.get(ServerFlag, MAINTENANCE)
        return bool(flag and flag.value == "on")


def set_maintenance(db: Database, on: bool) -> None:
    with db.write() as session:
        flag = session.get(ServerFlag, MAINTENANCE)
        if flag is None:
            session.add(ServerFlag(name=MAINTENANCE, value="on" if on else "off",
                                   updated_at=time.time()))
        else:
            flag.value, flag.updated_at = ("on" if on else "off"), time.time()


def counts(db: Database) -> dict[str, int]:
    with db.session() as session:
        return dict(session.execute(select(RunJob.status, func.count()).group_by(RunJob.status)).all())


__all__ = ["Conflict", "cancel", "claim", "counts", "describe", "expire_leases", "finish", "get",
           "detail", "listing", "maintenance", "queue_position", "release", "renew",
           "set_maintenance", "submit"]


def release(db: Database, job_id: int, worker: str) -> None:
    """A worker shutting down hands its run back to the queue (resumed by the next one)."""
    with db.write() as session:
        session.execute(update(RunJob).where(RunJob.id == job_id, RunJob.worker == worker,
                                             RunJob.status == "running")
                        .values(status="queued", worker=None, lease_until=None,
                                message="its worker shut down; queued again to resume"))


def detail(db: Database, run_id: str) -> dict[str, Any] | None:
    """One run's status, progress and ETA (position and queue ETA for a queued run)."""
    job = get(db, run_id)
    if job is None:
        return None
    if job.status == "queued":
        for row in listing(db):
            if row["run_id"] == run_id:
                return row
    with db.session() as session:
        return describe(job, _history(session))
