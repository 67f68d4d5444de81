"""API keys: made once, shown once, stored as a SHA-256 hash with a short visible prefix.

A key is 32 random bytes, so a plain hash is enough (no brute force can reach it);
the lookup is by hash, which also compares in constant time per row.
"""

from __future__ import annotations

import hashlib
import secrets
import time
from dataclasses import dataclass

from sqlalchemy import select

from pytest_llmbench.errors import ConfigError
from pytest_llmbench.server.db import Database
from pytest_llmbench.server.models import ApiKey, Scope

KEY_PREFIX = "llmb_"


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def parse_scope(text: str) -> Scope:
    try:
        return Scope(text)
    except ValueError:
        raise ConfigError(f"--scope: {text!r} is not one of "
                          f"{', '.join(s.value for s in Scope)}") from None


def allows(granted: Scope, needed: Scope) -> bool:
    """``admin`` may do everything; any key may read; otherwise the scope must match."""
    return granted in (Scope.admin, needed) or needed is Scope.read


@dataclass
class KeyInfo:
    id: int
    name: str
    prefix: str
    scope: Scope


def create_key(db: Database, scope: Scope, name: str = "") -> str:
    """Store a new key's hash and return the key itself (the only time it exists in clear)."""
    key = KEY_PREFIX + secrets.token_urlsafe(32)
    with db.write() as session:
        session.add(ApiKey(name=name or scope.value, prefix=key[:12], hash=hash_key(key),
                           scope=scope.value, created_at=time.time()))
    return key


def lookup(db: Database, key: str) -> KeyInfo | None:
    """The live key with this value, or None."""
    with db.session() as session:
        row = session.scalar(select(ApiKey).where(ApiKey.hash == hash_key(key),
                                                  ApiKey.revoked_at.is_(None)))
        return KeyInfo(row.id, row.name, row.prefix, Scope(row.scope)) if row else None


def list_keys(db: Database) -> list[dict[str, object]]:
    with db.session() as session:
        return [{"id": k.id, "name": k.name, "prefix": k.prefix, "scope": k.scope,
                 "created_at": k.created_at, "revoked": k.revoked_at is not None}
                for k in session.scalars(select(ApiKey).order_by(ApiKey.id))]


def revoke(db: Database, key_id: int) -> bool:
    with db.write() as session:
        row = session.get(ApiKey, key_id)
        if row is None or row.revoked_at is not None:
            return False
        row.revoked_at = time.time()
        return True
