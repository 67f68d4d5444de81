"""``llmbench server migrate | keys | import`` as a user types them."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.server.conftest import Server


def _cli(server: Server, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(Path(sys.executable).parent / "llmbench"), "server", "--database-url",
                           server.database_url, *args], capture_output=True, text=True, timeout=120,
                          check=False)


def test_keys_are_shown_once_listed_by_prefix_and_revocable(server: Server) -> None:
    migrate = _cli(server, "migrate")
    assert migrate.returncode == 0 and "schema up to date" in migrate.stdout
    made = _cli(server, "keys", "create", "--scope", "ingest", "--name", "ci-runner")
    key = made.stdout.strip()
    assert made.returncode == 0 and key.startswith("llmb_") and "shown once" in made.stderr
    listing = _cli(server, "keys", "list").stdout
    line = next(row for row in listing.splitlines() if row.endswith("ci-runner"))
    assert key not in listing and key[:12] in line and "\tingest\tactive" in line
    body = b'{"schema": "x"}'
    headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
    assert server.post("/api/ingest", content=body, headers=headers).status_code == 422
    assert _cli(server, "keys", "revoke", line.split("\t")[0]).returncode == 0
    assert server.post("/api/ingest", content=body, headers=headers).status_code == 401
    bad = _cli(server, "keys", "create", "--scope", "root")
    assert bad.returncode == 2 and "--scope: 'root' is not one of ingest, read, admin, run" in bad.stderr


def test_import_names_what_is_not_a_run(server: Server, tmp_path: Path) -> None:
    result = _cli(server, "import", str(tmp_path))
    assert result.returncode == 1
    assert f"{tmp_path}: not a run directory (run.json is missing)" in result.stderr


def test_database_url_passwords_are_never_printed() -> None:
    from pytest_llmbench.server.db import redacted

    shown = redacted("postgresql+psycopg://bench:s3cret-pass@db:5432/llmbench")
    assert "s3cret" not in shown and shown.startswith("postgresql+psycopg://bench:***@db")
