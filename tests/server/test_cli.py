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


def test_import_watch_loads_each_run_once_it_finished(server: Server, tmp_path: Path) -> None:
    import json
    import time

    from tests.server.runs import make_run

    folder = tmp_path / "runs"
    make_run(folder, "watch-0001", {1}, n=5, started_at=1_800_000_000.0)
    running = make_run(folder, "watch-0002", set(), n=5, started_at=1_800_000_100.0)
    info = json.loads((running / "run.json").read_text())
    (running / "run.json").write_text(json.dumps({**info, "status": "running"}))
    proc = subprocess.Popen([str(Path(sys.executable).parent / "llmbench"), "server", "--database-url",
                             server.database_url, "import", "--watch", "0.2", str(folder)],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)

    def wait_for(run_id: str) -> None:
        deadline = time.monotonic() + 60
        while server.get(f"/api/runs/{run_id}").status_code != 200:
            assert time.monotonic() < deadline and proc.poll() is None, f"{run_id} never imported"
            time.sleep(0.2)

    try:
        wait_for("watch-0001")
        time.sleep(1.0)  # several cycles: the running run stays out
        assert server.get("/api/runs/watch-0002").status_code == 404
        (running / "run.json").write_text(json.dumps({**info, "status": "completed"}))
        wait_for("watch-0002")
        assert server.items("watch-0001") == server.items("watch-0002") == 10
    finally:
        proc.terminate()
        out = proc.communicate(timeout=30)[0]
    assert out.count("watch-0001: 10 of 10 records stored") == 1, out
