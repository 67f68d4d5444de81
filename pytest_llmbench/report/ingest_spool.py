"""The ingest payload, its batches and the spool that remembers which were acknowledged.

The run directory is the spool: before anything is posted, every batch is written
to ``<run>/ingest/batch-NNNNN.json`` and listed in ``<run>/ingest/state.json`` with its
idempotency key. An acknowledged batch is marked ``acked`` and its file removed, so
``llmbench ingest RUN`` resends exactly the bytes that failed, under the same key.

Payload (schema ``pytest-llmbench.ingest``, version 1): batch 0 is the run envelope
(``run`` = run.json, ``summaries``, ``compare`` when a baseline was compared, counts);
batches 1..N carry ``records``, at most ``batch_size`` each. Every batch names the
``run_id`` and ``batch: {index, total, kind}`` so a receiver can join them.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from pytest_llmbench.results.run_dir import RUN_FILE, read_records, write_json

SCHEMA = "pytest-llmbench.ingest"
SCHEMA_VERSION = 1
SPOOL_DIR = "ingest"
STATE_FILE = "state.json"


def build_payload(info: dict[str, Any], summaries: list[dict[str, Any]],
                  records: list[dict[str, Any]], compare: dict[str, Any] | None = None) -> dict[str, Any]:
    """The whole payload before batching (what ``pytest_llmbench_ingest_payload`` sees)."""
    return {"schema": SCHEMA, "schema_version": SCHEMA_VERSION, "run_id": info.get("run_id"),
            "run": info, "summaries": summaries, "compare": compare, "records": records}


def payload_from_run_dir(path: Path) -> dict[str, Any]:
    """Rebuild the payload from a run directory's files (``llmbench ingest`` of a run that
    was never posted)."""
    info = json.loads((path / RUN_FILE).read_text(encoding="utf-8"))
    summary_path = path / "summary.json"
    rows = json.loads(summary_path.read_text("utf-8"))["rows"] if summary_path.exists() else []
    compare_path = path / "compare.json"
    compare = json.loads(compare_path.read_text("utf-8")) if compare_path.exists() else None
    return build_payload(info, rows, read_records(path), compare)


def split_batches(payload: dict[str, Any], batch_size: int) -> list[dict[str, Any]]:
    records = payload.get("records") or []
    head = {k: v for k, v in payload.items() if k != "records"}
    total = 1 + math.ceil(len(records) / batch_size)
    common = {"schema": head.get("schema", SCHEMA),
              "schema_version": head.get("schema_version", SCHEMA_VERSION),
              "run_id": head.get("run_id")}
    batches = [{**head, **common, "batch": {"index": 0, "total": total, "kind": "run"},
                "record_count": len(records), "record_batches": total - 1}]
    for index in range(1, total):
        chunk = records[(index - 1) * batch_size:index * batch_size]
        batches.append({**common, "batch": {"index": index, "total": total, "kind": "records"},
                        "records": chunk})
    return batches


def encode(batch: dict[str, Any]) -> bytes:
    """Canonical bytes: the same batch always hashes to the same idempotency key."""
    return json.dumps(batch, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                      default=str).encode("utf-8")


def idempotency_key(run_id: str, index: int, body: bytes) -> str:
    return f"{run_id}-{index}-{hashlib.sha256(body).hexdigest()[:16]}"


def redact_url(url: str) -> str:
    """The URL without user info or query string (either may hold a secret)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    netloc = f"{host}:{parts.port}" if parts.port else host
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


@dataclass
class SpooledBatch:
    index: int
    key: str
    file: str
    records: int
    status: str = "pending"  # pending | acked
    attempts: int = 0
    last_error: str | None = None
    acked_at: float | None = None
    first: int | None = None  # position of its first record in the run's records
    rejected: bool = False  # the server refused it outright (e.g. 413): it stored nothing


class Spool:
    """``<run>/ingest/``: the batch files not yet acknowledged and their state."""

    def __init__(self, run_path: Path) -> None:
        self.dir = run_path / SPOOL_DIR
        self.state_path = self.dir / STATE_FILE
        self.url: str | None = None
        self.batches: list[SpooledBatch] = []

    @property
    def exists(self) -> bool:
        return self.state_path.exists()

    def load(self) -> Spool:
        data = json.loads(self.state_path.read_text(encoding="utf-8"))
        self.url = data.get("url")
        self.batches = [SpooledBatch(**b) for b in data["batches"]]
        return self

    def create(self, run_id: str, batches: list[dict[str, Any]], url: str) -> None:
        self.dir.mkdir(parents=True, exist_ok=True)
        self.url = redact_url(url)
        self.batches = []
        first = 0
        for batch in batches:
            body = encode(batch)
            index = batch["batch"]["index"]
            name = f"batch-{index:05d}.json"
            (self.dir / name).write_bytes(body)
            count = len(batch.get("records") or [])
            self.batches.append(SpooledBatch(index=index, key=idempotency_key(run_id, index, body),
                                             file=name, records=count,
                                             first=first if index else None))
            first += count
        self.save()

    def resplit(self, run_id: str, batch_size: int) -> int:
        """Cut pending record batches the server never stored (refused outright, or never
        sent) into batches of at most ``batch_size`` records; returns how many were cut.

        A piece's idempotency key names its record range and hashes its records, so the same
        range always gets the same key; a batch that may have been stored (a timeout, a 5xx)
        keeps its bytes and key, so the server sees each record once."""
        self._number_records()
        out: list[SpooledBatch] = []
        cut = 0
        next_index = max((b.index for b in self.batches), default=0) + 1
        for batch in self.batches:
            safe = batch.status != "acked" and (batch.rejected or batch.attempts == 0)
            if not (safe and batch.index and batch.records > batch_size):
                out.append(batch)
                continue
            body = json.loads(self.body(batch))
            records = body.pop("records")
            start = batch.first or 0
            for offset in range(0, len(records), batch_size):
                chunk = records[offset:offset + batch_size]
                low, high = start + offset, start + offset + len(chunk) - 1
                piece = {**body, "batch": {"index": next_index, "total": 0, "kind": "records"},
                         "records_range": [low, high], "records": chunk}
                name = f"batch-{next_index:05d}.json"
                (self.dir / name).write_bytes(encode(piece))
                digest = hashlib.sha256(encode(chunk)).hexdigest()[:16]
                out.append(SpooledBatch(index=next_index, key=f"{run_id}-r{low}-{high}-{digest}",
                                        file=name, records=len(chunk), first=low))
                next_index += 1
            os.remove(self.dir / batch.file)
            cut += 1
        self.batches = out
        self.save()
        return cut

    def _number_records(self) -> None:
        """Record positions for spools written before they were kept (in batch order)."""
        first = 0
        for batch in self.batches:
            if batch.index and batch.first is None:
                batch.first = first
            first = (batch.first or 0) + batch.records if batch.index else first

    def body(self, batch: SpooledBatch) -> bytes:
        return (self.dir / batch.file).read_bytes()

    def acknowledge(self, batch: SpooledBatch) -> None:
        batch.status, batch.acked_at, batch.last_error = "acked", time.time(), None
        self.save()
        try:
            os.remove(self.dir / batch.file)
        except FileNotFoundError:
            pass

    def pending(self) -> list[SpooledBatch]:
        return [b for b in self.batches if b.status != "acked"]

    def save(self) -> None:
        write_json(self.state_path, {
            "schema_version": SCHEMA_VERSION, "url": self.url,
            "batches": [vars(b) for b in self.batches]})
