"""--llmbench-debug writes every call, retry and ingest post to the run's debug.log (17)."""

from __future__ import annotations

import re

import pytest

from tests.conftest import write_suite
from tests.report.ingest_server import IngestServer, serve


def test_debug_log_has_calls_retries_and_ingest_posts(pytester: pytest.Pytester,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    write_suite(pytester.path, rows=[{"id": "q1", "question": "1 + 1", "answer": "2"}])
    monkeypatch.setenv("INGEST_API_KEY", "ingest-secret-value-123")
    with serve(IngestServer()) as server:
        result = pytester.runpytest_subprocess(
            "arith.yaml", "--llmbench-models", "inproc:oracle,inproc:error",
            "--llmbench-max-retries", "2", "--llmbench-retry-max-wait", "0.05",
            "--llmbench-debug", "--llmbench-ingest-url", server.url)
    result.assert_outcomes(passed=1, errors=1)
    log = (pytester.path / ".llmbench" / "runs" / "latest" / "debug.log").read_text()
    assert re.search(r"call inproc:oracle arith/q1 attempt 1: ok latency=[\d.]+s ttft=[\d.]+s "
                     r"in=\d+ out=\d+", log), log
    assert len(re.findall(r"call inproc:error arith/q1 attempt \d: server_error "
                          r"InternalServerError", log)) == 3, log
    assert len(re.findall(r"retry inproc:error arith/q1 in [\d.]+s \(after attempt \d, "
                          r"server_error\)", log)) == 2, log
    posts = re.findall(r"ingest post http://127\.0\.0\.1:\d+\S* batch \S+ try \d: HTTP (\d+)", log)
    assert posts and posts[-1] == "200" and len(posts) == len(server.posts), log
    assert "ingest-secret-value-123" not in log
