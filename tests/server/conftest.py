"""The results server as users run it: ``llmbench server`` in a subprocess (uvicorn) on
SQLite and on a private PostgreSQL (started here; CI sets $LLMBENCH_REQUIRE_POSTGRES=1 so
it never skips), keys made with the CLI's own code, pytest runs posting to it."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from pytest_llmbench.server.db import Database
from pytest_llmbench.server.keys import create_key
from pytest_llmbench.server.models import Scope
from tests.conftest import write_suite
from tests.server.postgres import REQUIRE_ENV, bin_dir, create_database, free_port, postgres_server


@pytest.fixture(scope="session")
def postgres_base() -> Iterator[str]:
    if bin_dir() is None:
        if os.environ.get(REQUIRE_ENV) == "1":
            pytest.fail(f"${REQUIRE_ENV}=1 but PostgreSQL is not installed (apt-get install postgresql)")
        pytest.skip("PostgreSQL is not installed (apt-get install postgresql)")
    with postgres_server() as url:
        yield url


def database_url(backend: str, tmp: Path, request: pytest.FixtureRequest) -> str:
    if backend == "sqlite":
        return f"sqlite:///{tmp / 'server.db'}"
    base = request.getfixturevalue("postgres_base")
    return create_database(base, "t_" + uuid.uuid4().hex[:12])


@dataclass
class Server:
    url: str
    database_url: str
    proc: subprocess.Popen[bytes]
    log: Path
    args: list[str] = field(default_factory=list)
    keys: dict[str, str] = field(default_factory=dict)

    def key(self, scope: str) -> str:
        if scope not in self.keys:
            db = Database(self.database_url)
            try:
                self.keys[scope] = create_key(db, Scope(scope), f"test-{scope}")
            finally:
                db.dispose()
        return self.keys[scope]

    def auth(self, scope: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.key(scope)}"}

    def get(self, path: str, **kwargs: Any) -> httpx.Response:
        return httpx.get(self.url + path, timeout=60, **kwargs)

    def post(self, path: str, **kwargs: Any) -> httpx.Response:
        return httpx.post(self.url + path, timeout=120, **kwargs)

    def items(self, run_id: str) -> int:
        response = self.get(f"/api/runs/{run_id}")
        return int(response.json()["items"]) if response.status_code == 200 else 0

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def restart(self) -> None:
        self.stop()
        port = int(self.url.rsplit(":", 1)[1])
        fresh = start_server(self.database_url, self.log.parent, self.args, port=port)
        self.proc, self.log = fresh.proc, fresh.log


def start_server(db_url: str, folder: Path, args: list[str] | None = None,
                 port: int | None = None) -> Server:
    port = port or free_port()
    log = folder / f"server-{port}-{time.monotonic_ns()}.log"
    proc = subprocess.Popen(
        [str(Path(sys.executable).parent / "llmbench"), "server", "--database-url", db_url,
         "--port", str(port), *(args or [])],
        stdout=log.open("wb"), stderr=subprocess.STDOUT, cwd=folder)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        if proc.poll() is not None:
            raise AssertionError(f"llmbench server exited: {log.read_text()[-3000:]}")
        try:
            httpx.get(url + "/api/runs", timeout=2)
            break
        except httpx.TransportError:
            if time.monotonic() > deadline:
                proc.kill()
                raise AssertionError(f"llmbench server did not start: {log.read_text()[-3000:]}") from None
            time.sleep(0.2)
    return Server(url, db_url, proc, log, list(args or []))


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    tmp = tmp_path_factory.mktemp(f"server-{request.param}")
    srv = start_server(database_url(request.param, tmp, request), tmp,
                       ["--max-ingest-mb", "4", "--max-upload-mb", "1"])
    try:
        yield srv
    finally:
        srv.stop()


def bench_run(root: Path, *, run_id: str, models: str = "sim:default,inproc:wrong",
              extra: list[str] | None = None, env: dict[str, str] | None = None,
              rows: int = 30) -> tuple[subprocess.CompletedProcess[str], Path]:
    """A real pytest run of a small arithmetic suite (the simulator and in-process models)."""
    root.mkdir(parents=True, exist_ok=True)
    write_suite(root, rows=[{"id": f"q{i:03d}", "question": f"{i} + {i}", "answer": str(2 * i)}
                            for i in range(rows)])
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "arith.yaml", "-q", "-p", "no:cacheprovider",
         "--llmbench-models", models, "--llmbench-score-only", "--llmbench-max-retries", "0",
         "--llmbench-run-id", run_id, "--rootdir", str(root), *(extra or [])],
        cwd=root, capture_output=True, text=True, timeout=300, check=False,
        env={**os.environ, **(env or {})})
    return proc, root / ".llmbench" / "runs" / run_id


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
