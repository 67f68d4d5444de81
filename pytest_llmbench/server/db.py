"""The database: URL resolution (SQLite under ``.llmbench/`` by default), the engine with
SQLite's pragmas for concurrent writers, sessions, and Alembic migrations run on start."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError
from sqlalchemy.orm import Session, sessionmaker

from pytest_llmbench.errors import ConfigError

URL_ENV = "LLMBENCH_DATABASE_URL"
DEFAULT_SQLITE = Path(".llmbench") / "server.db"
MIGRATIONS = Path(__file__).parent / "migrations"


def resolve_url(url: str | None) -> str:
    """``--database-url`` > ``$LLMBENCH_DATABASE_URL`` > SQLite in ``.llmbench/server.db``."""
    url = url or os.environ.get(URL_ENV)
    if not url:
        DEFAULT_SQLITE.parent.mkdir(parents=True, exist_ok=True)
        return f"sqlite:///{DEFAULT_SQLITE}"
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise ConfigError(f"--database-url / ${URL_ENV}: not a database URL") from None
    if parsed.get_backend_name() not in ("sqlite", "postgresql"):
        raise ConfigError(f"--database-url / ${URL_ENV}: only sqlite:/// and "
                          f"postgresql+psycopg:// are supported, not {parsed.get_backend_name()}")
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    return url


def redacted(url: str) -> str:
    """The URL with its password hidden, for messages and pages."""
    return make_url(url).render_as_string(hide_password=True)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=60000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def make_engine(url: str, *, writer: bool = False) -> Engine:
    """An engine; on SQLite a ``writer`` engine opens transactions with BEGIN IMMEDIATE so
    concurrent writers queue on the lock (busy_timeout) instead of failing mid-way."""
    if make_url(url).get_backend_name() != "sqlite":
        return create_engine(url, pool_size=10, max_overflow=20, pool_pre_ping=True)
    engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 60})

    @event.listens_for(engine, "connect")
    def _connect(dbapi_connection: Any, _record: Any) -> None:
        _sqlite_pragmas(dbapi_connection, _record)
        dbapi_connection.isolation_level = None  # SQLAlchemy's begin event emits BEGIN

    @event.listens_for(engine, "begin")
    def _begin(conn: Any) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE" if writer else "BEGIN")

    return engine


class Database:
    """An engine and its session factory; ``session()`` for reads, ``write()`` for one
    transaction that commits whole or not at all."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = make_engine(url)
        sqlite = self.engine.dialect.name == "sqlite"
        self.write_engine = make_engine(url, writer=True) if sqlite else self.engine
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        self._writers = sessionmaker(self.write_engine, expire_on_commit=False)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @contextmanager
    def session(self) -> Iterator[Session]:
        with self._sessions() as session:
            yield session

    @contextmanager
    def write(self) -> Iterator[Session]:
        with self._writers() as session, session.begin():
            yield session

    def migrate(self) -> None:
        migrate(self.write_engine)

    def dispose(self) -> None:
        self.engine.dispose()
        self.write_engine.dispose()


def migrate(engine: Engine) -> None:
    """Bring the schema to the newest revision (idempotent; runs on every start)."""
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "head")
