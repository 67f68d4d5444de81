"""The server's settings, from the command line (``llmbench server --help``) or a caller."""

from __future__ import annotations

import ipaddress
import secrets
from dataclasses import dataclass, field
from pathlib import Path

MiB = 1024 * 1024


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@dataclass
class Settings:
    database_url: str
    host: str = "127.0.0.1"
    port: int = 8787
    read_key_required: bool | None = None  # None: only when listening off loopback
    max_ingest_bytes: int = 512 * MiB
    max_upload_bytes: int = 64 * MiB
    signing_key: Path | None = None  # signs zip exports
    trusted_keys: list[Path] = field(default_factory=list)  # public keys the verify page trusts
    migrate: bool = True
    suite_dirs: list[Path] = field(default_factory=list)  # run service catalog, beside bench_suites/
    secret: bytes = field(default_factory=lambda: secrets.token_bytes(32))

    @property
    def read_open(self) -> bool:
        if self.read_key_required is not None:
            return not self.read_key_required
        return is_loopback(self.host)
