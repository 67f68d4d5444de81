"""Alembic environment: the connection comes from ``server.db.migrate`` (config attribute
``connection``), so migrations run in the server's own process on start."""

from __future__ import annotations

from alembic import context

from pytest_llmbench.server.models import Base

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=Base.metadata,
                  render_as_batch=connection.dialect.name == "sqlite")
with context.begin_transaction():
    context.run_migrations()
