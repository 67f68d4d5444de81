"""The schema: runs, their items (one row per record, unique per run and node id), the
ingest batches already stored (idempotency keys) and API keys (hashed).

Alembic migrations under ``migrations/`` create these tables; the models are the
single description the queries use.
"""

from __future__ import annotations

import enum

from sqlalchemy import (
    BigInteger,
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Scope(enum.StrEnum):
    """What an API key may do. ``admin`` may do everything; ``run`` is for the run
    service (starting runs through the API)."""

    ingest = "ingest"
    read = "read"
    admin = "admin"
    run = "run"


class Base(DeclarativeBase):
    pass


class Run(Base):
    __tablename__ = "runs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_id: Mapped[str] = mapped_column(String(200), unique=True)
    status: Mapped[str | None] = mapped_column(String(40))
    started_at: Mapped[float | None] = mapped_column(Float, index=True)
    finished_at: Mapped[float | None] = mapped_column(Float)
    created_at: Mapped[float] = mapped_column(Float)
    updated_at: Mapped[float] = mapped_column(Float)
    suites: Mapped[str] = mapped_column(Text, default="")  # " suite1 suite2 " for filters
    models: Mapped[str] = mapped_column(Text, default="")
    targets: Mapped[str] = mapped_column(Text, default="")
    tags: Mapped[str] = mapped_column(Text, default="")
    annotation: Mapped[str | None] = mapped_column(Text)
    item_count: Mapped[int] = mapped_column(Integer, default=0)
    info_json: Mapped[str] = mapped_column(Text, default="{}")  # run.json, merged over shards
    compare_json: Mapped[str | None] = mapped_column(Text)  # compare.json as posted
    summary_json: Mapped[str | None] = mapped_column(Text)  # rows computed from the items
    summary_stale: Mapped[bool] = mapped_column(Boolean, default=True)


class Item(Base):
    __tablename__ = "items"
    __table_args__ = (
        UniqueConstraint("run_pk", "nodeid", name="uq_items_run_nodeid"),
        Index("ix_items_run_outcome", "run_pk", "outcome"),
        Index("ix_items_run_model", "run_pk", "model"),
    )

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    run_pk: Mapped[int] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"))
    nodeid: Mapped[str] = mapped_column(Text)
    suite: Mapped[str] = mapped_column(String(300))
    case_id: Mapped[str] = mapped_column(Text)
    model: Mapped[str] = mapped_column(String(300))
    target: Mapped[str | None] = mapped_column(String(300))
    variant: Mapped[str | None] = mapped_column(String(300))
    outcome: Mapped[str] = mapped_column(String(20))
    score: Mapped[float | None] = mapped_column(Float)
    latency_s: Mapped[float | None] = mapped_column(Float)
    cost_usd: Mapped[float | None] = mapped_column(Float)
    error: Mapped[str | None] = mapped_column(Text)
    data: Mapped[str] = mapped_column(Text)  # the whole record as JSON


class IngestBatch(Base):
    __tablename__ = "ingest_batches"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(300), unique=True)
    run_pk: Mapped[int] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"), index=True)
    batch_index: Mapped[int | None] = mapped_column(Integer)
    records: Mapped[int] = mapped_column(Integer, default=0)
    stored: Mapped[int] = mapped_column(Integer, default=0)
    received_at: Mapped[float] = mapped_column(Float)


class ApiKey(Base):
    __tablename__ = "api_keys"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    prefix: Mapped[str] = mapped_column(String(20))  # shown in listings; the rest is secret
    hash: Mapped[str] = mapped_column(String(64), unique=True)
    scope: Mapped[str] = mapped_column(String(20))
    created_at: Mapped[float] = mapped_column(Float)
    revoked_at: Mapped[float | None] = mapped_column(Float)


class RunJob(Base):
    """A run asked for through ``POST /api/runs``: the durable queue. A worker claims a
    ``queued`` row (row locks: FOR UPDATE SKIP LOCKED on PostgreSQL, one atomic UPDATE on
    SQLite), keeps ``lease_until`` fresh while the pytest session runs, and sets the end
    status; a row whose lease expired is queued again and resumed."""

    __tablename__ = "run_jobs"
    __table_args__ = (Index("ix_run_jobs_status_id", "status", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_id: Mapped[str] = mapped_column(String(200), unique=True)
    status: Mapped[str] = mapped_column(String(20))  # queued running done failed cancelled
    request_json: Mapped[str] = mapped_column(Text)
    created_at: Mapped[float] = mapped_column(Float)
    started_at: Mapped[float | None] = mapped_column(Float)
    finished_at: Mapped[float | None] = mapped_column(Float)
    worker: Mapped[str | None] = mapped_column(String(200))
    lease_until: Mapped[float | None] = mapped_column(Float)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    cancel_requested: Mapped[bool] = mapped_column(Boolean, default=False)
    progress_json: Mapped[str | None] = mapped_column(Text)
    message: Mapped[str | None] = mapped_column(Text)
    run_info_json: Mapped[str | None] = mapped_column(Text)  # the session's run.json (resume)


class ServerFlag(Base):
    """Operator switches shared by every server process (maintenance mode)."""

    __tablename__ = "server_flags"

    name: Mapped[str] = mapped_column(String(100), primary_key=True)
    value: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[float] = mapped_column(Float)
