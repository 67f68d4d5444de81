"""Posting results to an ingest endpoint: batches, retries, idempotency keys, the run
directory as the spool and ``llmbench ingest`` resending what failed."""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import write_suite
from tests.report.ingest_server import IngestServer, serve

SECRET = "sk-ingest-SECRET-4242"
ROWS = [{"id": f"q{i:03d}", "question": f"{i} + {i}", "answer": str(2 * i)} for i in range(25)]


@pytest.fixture
def server() -> Iterator[IngestServer]:
    with serve(IngestServer()) as running:
        yield running


@pytest.fixture
def suite(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    write_suite(pytester.path, rows=ROWS)
    monkeypatch.setenv("INGEST_API_KEY", SECRET)


def bench(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    return pytester.runpytest("arith.yaml", "--llmbench-models", "inproc:oracle",
                              "--llmbench-run-id", "r1", "--llmbench-ingest-batch-size", "10", *args)


def run_path(pytester: pytest.Pytester) -> Path:
    return pytester.path / ".llmbench" / "runs" / "r1"


def assert_no_secret(pytester: pytest.Pytester, *outputs: str) -> None:
    for text in outputs:
        assert SECRET not in text
    for path in (pytester.path / ".llmbench").rglob("*"):
        if path.is_file():
            assert SECRET.encode() not in path.read_bytes(), path


def test_fails_times_out_then_succeeds_without_duplicates(pytester: pytest.Pytester, suite: None,
                                                          server: IngestServer) -> None:
    server.script = ["503", "slow", "ok", "429", "ok", "ok"]
    result = bench(pytester, "--llmbench-ingest-url", server.url, "--llmbench-ingest-timeout", "8")
    assert result.ret == pytest.ExitCode.OK
    result.stdout.fnmatch_lines(["*ingest: 4 batch(es) acknowledged by http://127.0.0.1:*/v1/ingest"])
    # run envelope + 3 record batches of at most 10, each stored once though posted up to 3 times
    assert len(server.stored) == 4
    assert sorted(r["case_id"] for r in server.records) == [r["id"] for r in ROWS]
    per_key = Counter(p["key"] for p in server.posts)
    assert len(server.posts) == 7 and max(per_key.values()) == 3
    envelope = next(b for b in server.stored.values() if b["batch"]["index"] == 0)
    assert envelope["schema"] == "pytest-llmbench.ingest" and envelope["schema_version"] == 1
    assert envelope["run"]["run_id"] == "r1" and envelope["record_count"] == 25
    assert envelope["summaries"][0]["n"] == 25 and envelope["batch"]["total"] == 4
    for post in server.posts:
        assert post["headers"]["Authorization"] == f"Bearer {SECRET}"
        assert post["key"].startswith(f"r1-{post['body']['batch']['index']}-")
    state = json.loads((run_path(pytester) / "ingest" / "state.json").read_text())
    assert {b["status"] for b in state["batches"]} == {"acked"}
    assert state["url"].endswith("/v1/ingest")  # the query string may hold a token
    assert not list((run_path(pytester) / "ingest").glob("batch-*.json"))
    assert_no_secret(pytester, result.stdout.str(), result.stderr.str())


def test_failed_ingest_is_spooled_and_resent_by_the_cli(pytester: pytest.Pytester, suite: None,
                                                        server: IngestServer) -> None:
    server.script = ["ok", "ok"]
    server.default = "503"
    result = bench(pytester, "--llmbench-ingest-url", server.url, "--llmbench-ingest-timeout", "1")
    assert result.ret == pytest.ExitCode.OK  # not required: a warning only
    result.stdout.fnmatch_lines([
        "*ingest batch 2: * from http://127.0.0.1:*/v1/ingest; gave up after 1s "
        "(--llmbench-ingest-timeout)",
        "*ingest: 2/4 batches acknowledged by *; the rest are spooled in *ingest "
        "(resend: llmbench ingest *r1)"])
    spool = run_path(pytester) / "ingest"
    assert sorted(p.name for p in spool.glob("batch-*.json")) == ["batch-00002.json", "batch-00003.json"]
    acked_keys = set(server.stored)

    server.default = "ok"
    posts_before = len(server.posts)
    resend = subprocess.run([sys.executable, "-m", "pytest_llmbench.cli", "ingest", "r1",
                             "--url", server.url], cwd=pytester.path, capture_output=True,
                            text=True, timeout=60, env={**_env(), "INGEST_API_KEY": SECRET})
    assert resend.returncode == 0, resend.stderr
    assert "ingest: 4 batch(es) acknowledged" in resend.stdout
    resent = server.posts[posts_before:]
    assert [p["body"]["batch"]["index"] for p in resent] == [2, 3]
    assert not acked_keys & {p["key"] for p in resent}
    assert sorted(r["case_id"] for r in server.records) == [r["id"] for r in ROWS]
    again = subprocess.run([sys.executable, "-m", "pytest_llmbench.cli", "ingest", "r1"],
                           cwd=pytester.path, capture_output=True, text=True, timeout=60, env=_env())
    assert again.returncode == 0 and "already acknowledged" in again.stdout
    assert_no_secret(pytester, result.stdout.str(), resend.stdout, resend.stderr)


def test_ingest_required_fails_the_session(pytester: pytest.Pytester, suite: None,
                                           server: IngestServer) -> None:
    server.default = "401"
    result = bench(pytester, "--llmbench-ingest-url", server.url, "--llmbench-ingest-required",
                   "--llmbench-ingest-header", "X-API-Key")
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines(["*ingest batch 0: HTTP 401 from *", "*0/4 batches acknowledged*"])
    assert len(server.posts) == 1  # a 401 is not retried, and the other batches wait
    assert server.posts[0]["headers"]["X-API-Key"] == SECRET
    assert "Authorization" not in server.posts[0]["headers"]
    assert (run_path(pytester) / "records.jsonl").read_text().count("\n") == 25
    assert_no_secret(pytester, result.stdout.str(), result.stderr.str())


def test_payload_hook_and_env_url(pytester: pytest.Pytester, suite: None, server: IngestServer,
                                  monkeypatch: pytest.MonkeyPatch) -> None:
    pytester.makeconftest("""
        def pytest_llmbench_ingest_payload(payload, config):
            payload["run"]["team"] = "evals"
            payload["records"] = [r for r in payload["records"] if r["case_id"] < "q005"]
    """)
    monkeypatch.setenv("INGEST_API_URL", server.url)
    result = bench(pytester, "-n", "2")
    assert result.ret == pytest.ExitCode.OK
    envelope = next(b for b in server.stored.values() if b["batch"]["index"] == 0)
    assert envelope["run"]["team"] == "evals" and envelope["record_count"] == 5
    assert len(server.records) == 5


def test_no_url_means_no_ingest(pytester: pytest.Pytester, suite: None) -> None:
    result = bench(pytester)
    assert result.ret == pytest.ExitCode.OK
    assert not (run_path(pytester) / "ingest").exists()


def _env() -> dict[str, str]:
    import os

    return {k: v for k, v in os.environ.items() if k not in ("INGEST_API_KEY", "INGEST_API_URL")}


def test_bad_url_is_a_usage_error(pytester: pytest.Pytester, suite: None) -> None:
    result = bench(pytester, "--llmbench-ingest-url", "ftp://example")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--llmbench-ingest-url / $INGEST_API_URL: the ingest URL must be "
                                 "http:// or https:// with a host*"])
