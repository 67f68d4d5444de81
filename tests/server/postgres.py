"""A private PostgreSQL for tests and perf scripts: Debian's binaries, initdb + pg_ctl in a
temporary folder on a free port and its own socket folder, as an unprivileged user
(``nobody`` when we are root: postgres refuses to run as root), stopped afterwards."""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

REQUIRE_ENV = "LLMBENCH_REQUIRE_POSTGRES"
USER = "llmbench"


def bin_dir() -> Path | None:
    found = shutil.which("pg_ctl")
    if found:
        return Path(found).parent
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"))
    return Path(candidates[-1]).parent if candidates else None


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _as_user(args: list[str]) -> list[str]:
    return ["runuser", "-u", "nobody", "--", *args] if os.geteuid() == 0 else args


@contextmanager
def postgres_server() -> Iterator[str]:
    """Yields ``postgresql+psycopg://llmbench@127.0.0.1:PORT`` (append ``/DBNAME``)."""
    binaries = bin_dir()
    if binaries is None:
        raise FileNotFoundError("PostgreSQL is not installed (apt-get install postgresql)")
    root = Path(tempfile.mkdtemp(prefix="llmbench-pg-"))
    data, sockets = root / "data", root / "sock"
    sockets.mkdir()
    os.chmod(root, 0o755)
    if os.geteuid() == 0:
        shutil.chown(root, "nobody")
        shutil.chown(sockets, "nobody")
    port = free_port()
    env = {**os.environ, "LC_ALL": "C.UTF-8", "LANG": "C.UTF-8"}
    subprocess.run(_as_user([str(binaries / "initdb"), "-D", str(data), "-U", USER, "-A", "trust",
                             "-E", "UTF8", "--no-sync"]),
                   check=True, capture_output=True, env=env, cwd=root)
    options = (f"-p {port} -k {sockets} -c listen_addresses=127.0.0.1 -c fsync=off "
               "-c synchronous_commit=off -c full_page_writes=off -c max_connections=200")
    subprocess.run(_as_user([str(binaries / "pg_ctl"), "-D", str(data), "-o", options, "-w",
                             "-t", "60", "-l", str(root / "log"), "start"]),
                   check=True, capture_output=True, env=env, cwd=root)
    try:
        yield f"postgresql+psycopg://{USER}@127.0.0.1:{port}"
    finally:
        subprocess.run(_as_user([str(binaries / "pg_ctl"), "-D", str(data), "-m", "immediate",
                                 "-w", "stop"]), capture_output=True, env=env, cwd=root, check=False)
        shutil.rmtree(root, ignore_errors=True)


def create_database(base_url: str, name: str) -> str:
    import psycopg

    dsn = base_url.replace("postgresql+psycopg://", "postgresql://") + "/postgres"
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')  # name is made by the test, not user input
    return f"{base_url}/{name}"
