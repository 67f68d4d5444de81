"""Store one ingest batch (what ``--llmbench-ingest-url`` posts, schema
``pytest-llmbench.ingest`` v1) in one transaction: all of it or nothing.

The body is streamed to a spooled temporary file (in memory up to a few MB, then
disk) with a size limit, then read twice with ijson's C parser: once for the small
top-level fields, once record by record, so memory holds one chunk of records, never
the batch. Batches are idempotent by ``Idempotency-Key`` and items are unique per
(run, node id): a resent batch, or a shard that overlaps another, stores nothing twice.
"""

from __future__ import annotations

import math
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO, Any

import ijson
import orjson
from sqlalchemy import select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from pytest_llmbench.redaction import Scrubber
from pytest_llmbench.report.ingest_spool import SCHEMA, SCHEMA_VERSION, idempotency_key
from pytest_llmbench.results.record import OUTCOMES
from pytest_llmbench.server.db import Database
from pytest_llmbench.server.models import IngestBatch, Item, Run

CHUNK = 1000
SPOOL_MEMORY = 4 * 1024 * 1024
_NUMBERS = ("score", "latency_s", "cost_usd", "ttft_s", "output_tps")
_TEXT_LIMIT = 300


class IngestRejected(Exception):
    """A payload the server will not store; ``str()`` is the one line the client sees."""

    def __init__(self, message: str, status: int = 422) -> None:
        super().__init__(message)
        self.status = status


@dataclass
class IngestOutcome:
    run_id: str
    batch: int | None
    records: int
    stored: int
    duplicate: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {"status": "duplicate" if self.duplicate else "stored", "run_id": self.run_id,
                "batch": self.batch, "records": self.records, "stored": self.stored,
                "already_stored": self.records - self.stored}


def spool_file() -> IO[bytes]:
    return tempfile.SpooledTemporaryFile(max_size=SPOOL_MEMORY)


_HEADER_KEYS = ("schema", "schema_version", "run_id", "batch", "run", "compare")
_MISSING = object()


def header(body: IO[bytes]) -> dict[str, Any]:
    """The top-level fields the server reads (all but ``records``), each found by a scan in
    ijson's C backend, so the records are never built here."""
    out: dict[str, Any] = {}
    try:
        body.seek(0)
        first = next(ijson.basic_parse(body), (None, None))[0]
        if first != "start_map":
            raise IngestRejected("the body must be a JSON object", 400)
        for key in _HEADER_KEYS:
            body.seek(0)
            value = next(ijson.items(body, key, use_float=True), _MISSING)
            if value is not _MISSING:
                out[key] = value
        records = _has_records(body)
    except ijson.JSONError as exc:
        raise IngestRejected(f"the body is not valid JSON ({_short(str(exc))})", 400) from None
    out["__has_records"] = records
    return out


def _has_records(body: IO[bytes]) -> bool:
    body.seek(0)
    for _ in ijson.items(body, "records.item"):
        return True
    return False


def iter_records(body: IO[bytes]) -> Iterator[dict[str, Any]]:
    body.seek(0)
    try:
        for index, record in enumerate(ijson.items(body, "records.item", use_float=True)):
            if not isinstance(record, dict):
                raise IngestRejected(f"records[{index}] is not an object")
            yield record
    except ijson.JSONError as exc:
        raise IngestRejected(f"the body is not valid JSON ({_short(str(exc))})", 400) from None


def _short(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= _TEXT_LIMIT else text[:_TEXT_LIMIT] + "..."


def validate_header(head: dict[str, Any]) -> tuple[str, int | None, str]:
    if head.get("schema") != SCHEMA:
        raise IngestRejected(f"'schema' must be {SCHEMA!r}, not {_short(repr(head.get('schema')))}")
    if head.get("schema_version") != SCHEMA_VERSION:
        raise IngestRejected(f"schema_version {head.get('schema_version')!r} is not supported "
                             f"(this server reads {SCHEMA_VERSION})")
    run_id = head.get("run_id")
    if not isinstance(run_id, str) or not run_id.strip() or len(run_id) > 200:
        raise IngestRejected("'run_id' must be a non-empty string of at most 200 characters")
    batch = head.get("batch")
    index: int | None = None
    kind = "records" if head.get("__has_records") else "run"
    if batch is not None:
        if not isinstance(batch, dict) or batch.get("kind") not in ("run", "records") \
                or not isinstance(batch.get("index"), int):
            raise IngestRejected("'batch' must be {index: int, total: int, kind: run|records}")
        index, kind = batch["index"], batch["kind"]
    if kind == "run" and not isinstance(head.get("run"), dict):
        raise IngestRejected("a run batch needs 'run' (the run's run.json) as an object")
    if head.get("compare") is not None and not isinstance(head["compare"], dict):
        raise IngestRejected("'compare' must be an object or null")
    return run_id, index, kind


def check_record(record: dict[str, Any], index: int, run_id: str) -> None:
    where = f"records[{index}]"
    for name in ("nodeid", "suite", "model"):
        if not isinstance(record.get(name), str) or not record[name]:
            raise IngestRejected(f"{where}: '{name}' must be a non-empty string")
    if not isinstance(record.get("case_id"), str | int):
        raise IngestRejected(f"{where}: 'case_id' must be a string")
    if record.get("outcome") not in OUTCOMES:
        raise IngestRejected(f"{where}: 'outcome' must be one of {', '.join(OUTCOMES)}, "
                             f"not {_short(repr(record.get('outcome')))}")
    if record.get("run_id") not in (None, run_id):
        raise IngestRejected(f"{where}: run_id {_short(repr(record['run_id']))} differs from the "
                             f"batch's {run_id!r}")
    for name in _NUMBERS:
        value = record.get(name)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int | float)
                                  or not math.isfinite(value)):
            raise IngestRejected(f"{where}: '{name}' must be a finite number or null")
    for name in ("target", "variant", "error"):
        if record.get(name) is not None and not isinstance(record[name], str):
            raise IngestRejected(f"{where}: '{name}' must be a string or null")


def _insert(session: Session) -> Any:
    return (postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert)


def _run_row(session: Session, run_id: str) -> Run:
    now = time.time()
    stmt = _insert(session)(Run).values(
        run_id=run_id, created_at=now, updated_at=now, suites="", models="", targets="", tags="",
        item_count=0, info_json="{}", summary_stale=True).on_conflict_do_nothing(
        index_elements=["run_id"])
    session.execute(stmt)
    run = session.scalar(select(Run).where(Run.run_id == run_id))
    assert run is not None
    return run


def _words(current: str, new: set[str]) -> str:
    words = set(current.split()) | {w.replace(" ", "_") for w in new if w}
    return f" {' '.join(sorted(words))} " if words else ""


_WORST = ("completed", "interrupted", "failed")
"""End statuses of a run.json, least to most serious: the run's status is its shards' worst."""


def _shard(info: dict[str, Any]) -> tuple[int, int] | None:
    """(index, count) of a shard's run.json (``--llmbench-shard i/N``), else None."""
    shard = info.get("shard")
    if not isinstance(shard, dict):
        return None
    index, count = shard.get("index"), shard.get("count")
    if isinstance(index, int) and isinstance(count, int) and 0 <= index < count:
        return index, count
    return None


def merge_info(old: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
    """run.json of several posts of one run: the earliest start, the latest finish.

    A run of one process takes the status of its latest post (a resumed session's
    run.json covers the whole run). The shards of a sharded run each post their own end:
    the run is ``partial`` until every shard (the count is in each shard's run.json) has
    reported an end, then it takes the worst of their statuses."""
    if not old:
        old = {}
    merged = {**old, **{k: v for k, v in new.items() if v is not None}}
    starts = [v for v in (old.get("started_at"), new.get("started_at")) if isinstance(v, int | float)]
    ends = [v for v in (old.get("finished_at"), new.get("finished_at")) if isinstance(v, int | float)]
    if starts:
        merged["started_at"] = min(starts)
    if ends:
        merged["finished_at"] = max(ends)
    shard = _shard(new)
    ended = dict(old.get("shards_ended") or {})
    if shard is None and not ended:
        return merged
    count = shard[1] if shard else int(old.get("shard_count") or 0)
    status = new.get("status")
    if shard is not None and isinstance(status, str) and status != "running":
        ended[str(shard[0])] = status
    merged["shards_ended"], merged["shard_count"] = ended, count
    if len(ended) < count:
        merged["status"] = "partial"
    else:
        merged["status"] = max(ended.values(), key=lambda s: _WORST.index(s) if s in _WORST else 2)
    return merged


def store_batch(db: Database, body: IO[bytes], key: str | None) -> IngestOutcome:
    """Validate and store one batch in one transaction; raises ``IngestRejected``."""
    head = header(body)
    run_id, index, kind = validate_header(head)
    if not key:  # a client that sends none still gets idempotency, by content
        body.seek(0)
        key = idempotency_key(run_id, -1 if index is None else index, body.read())
    try:
        with db.write() as session:
            return _store(session, head, body, key, run_id, index, kind)
    except IntegrityError:
        # another request stored the same batch key in the meantime (a concurrent resend)
        with db.session() as session:
            if session.scalar(select(IngestBatch.id).where(IngestBatch.key == key)) is None:
                raise
        return IngestOutcome(run_id, index, 0, 0, duplicate=True)


def _store(session: Session, head: dict[str, Any], body: IO[bytes], key: str, run_id: str,
           index: int | None, kind: str) -> IngestOutcome:
    seen = session.scalar(select(IngestBatch).where(IngestBatch.key == key))
    if seen is not None:
        return IngestOutcome(run_id, index, seen.records, 0, duplicate=True)
    run = _run_row(session, run_id)
    batch = IngestBatch(key=key, run_pk=run.id, batch_index=index, records=0, stored=0,
                        received_at=time.time())
    session.add(batch)
    session.flush()  # the key's unique constraint answers a concurrent resend here
    scrub = Scrubber()
    stored = 0
    suites: set[str] = set()
    models: set[str] = set()
    targets: set[str] = set()
    chunk: list[dict[str, Any]] = []
    insert = _insert(session)

    def flush() -> int:
        if not chunk:
            return 0
        table = Item.__table__
        stmt = insert(table).on_conflict_do_nothing(index_elements=["run_pk", "nodeid"]).returning(
            table.c.id)  # Core, not the ORM's bulk path: one multi-row statement per chunk
        count = len(session.execute(stmt, chunk).all())
        chunk.clear()
        return count

    count = 0
    for i, record in enumerate(iter_records(body)):
        count += 1
        check_record(record, i, run_id)
        record["case_id"] = str(record["case_id"])
        data = scrub(orjson.dumps(record).decode("utf-8"))
        suites.add(record["suite"])
        models.add(record["model"])
        if record.get("target"):
            targets.add(record["target"])
        chunk.append({"run_pk": run.id, "nodeid": record["nodeid"], "suite": record["suite"],
                      "case_id": record["case_id"], "model": record["model"],
                      "target": record.get("target"), "variant": record.get("variant"),
                      "outcome": record["outcome"], "score": record.get("score"),
                      "latency_s": record.get("latency_s"), "cost_usd": record.get("cost_usd"),
                      "error": scrub(record["error"]) if record.get("error") else None,
                      "data": data})
        if len(chunk) >= CHUNK:
            stored += flush()
    stored += flush()
    batch.stored, batch.records = stored, count
    # the run row last and briefly: concurrent shards of one run queue only here
    run = session.execute(select(Run).where(Run.id == run.id)
                          .with_for_update(key_share=True)).scalar_one()  # NO KEY UPDATE: FKs share
    values: dict[str, Any] = {
        "updated_at": time.time(), "item_count": Run.item_count + stored,
        "suites": _words(run.suites, suites), "models": _words(run.models, models),
        "targets": _words(run.targets, targets)}
    if stored:
        values["summary_stale"] = True
    if kind == "run":
        info = merge_info(orjson.loads(run.info_json or "{}"), head["run"])
        values.update(info_json=scrub(orjson.dumps(info, default=str).decode("utf-8")),
                      status=str(info.get("status") or "") or None,
                      started_at=_float(info.get("started_at")),
                      finished_at=_float(info.get("finished_at")),
                      suites=_words(values["suites"], {str(s) for s in info.get("suites") or []
                                                       if isinstance(s, str)}))
        if head.get("compare") is not None:
            values["compare_json"] = scrub(orjson.dumps(head["compare"], default=str).decode())
    session.execute(update(Run).where(Run.id == run.id).values(**values))
    return IngestOutcome(run_id, index, count, stored)


def _float(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None
