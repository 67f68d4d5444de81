"""Ingest faults: URLs that cannot be valid fail at start; a 413 is cured by resending the
spool cut into smaller batches, each record reaching the server once."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from pytest_llmbench.report.ingest_spool import Spool
from tests.conftest import write_suite
from tests.report.ingest_server import IngestServer, serve

ROWS = [{"id": f"q{i:03d}", "question": "y" * 400 + str(i), "answer": str(i)} for i in range(30)]
ARGS = ("arith.yaml", "--llmbench-models", "inproc:oracle", "-p", "no:cacheprovider",
        "--llmbench-run-id", "r1")


@pytest.mark.parametrize(("url", "message"), [
    ("http://127.0.0.1:99999/ingest", "invalid ingest URL http://127.0.0.1:99999: port 99999 "
     "is not in 1-65535"),
    ("localhost:8080/ingest", "the ingest URL must be http:// or https:// with a host "
     "(got localhost://, no host)"),
    ("127.0.0.1/ingest", "the ingest URL must be http:// or https:// with a host "
     "(got no scheme, no host)"),
    ("http:///ingest", "the ingest URL must be http:// or https:// with a host "
     "(got http://, no host)"),
])
def test_impossible_ingest_url_is_a_usage_error_before_the_run(
        pytester: pytest.Pytester, url: str, message: str) -> None:
    write_suite(pytester.path)
    result = pytester.runpytest_subprocess(*ARGS, "--llmbench-ingest-url", url)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([f"ERROR: --llmbench-ingest-url / $INGEST_API_URL: {message}"])
    assert not (pytester.path / ".llmbench").exists()  # nothing ran
    cli = subprocess.run([sys.executable, "-m", "pytest_llmbench.cli", "ingest", "r1", "--url",
                          url], cwd=pytester.path, capture_output=True, text=True, check=False)
    assert cli.returncode == 2 and "Traceback" not in cli.stderr


def _ingest(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "pytest_llmbench.cli", "ingest", "r1", *args],
                          cwd=cwd, capture_output=True, text=True, timeout=120, check=False,
                          env={**os.environ, "INGEST_API_KEY": "k"})


def test_413_then_ingest_with_a_smaller_batch_size_sends_each_record_once(
        pytester: pytest.Pytester) -> None:
    write_suite(pytester.path, rows=ROWS)
    with serve(IngestServer(max_bytes=12_000)) as server:
        result = pytester.runpytest_subprocess(*ARGS, "--llmbench-ingest-url", server.url,
                                               "--llmbench-ingest-batch-size", "10")
        assert result.ret == 0  # ingest is best effort by default: the run itself passed
        result.stdout.fnmatch_lines(["*ingest batch 1: HTTP 413 from http://127.0.0.1:*/v1/ingest"
                                     " (payload too large: 10 records, * bytes; resend smaller "
                                     "batches with llmbench ingest */r1 --batch-size 5)*"])
        assert len(server.stored) == 1 and not server.records  # only the run envelope
        run = pytester.path / ".llmbench/runs/r1"
        copy = pytester.path / "copy"
        shutil.copytree(run, copy)

        resent = _ingest(pytester.path, "--batch-size", "4")
        assert resent.returncode == 0, resent.stdout + resent.stderr
        assert "acknowledged" in resent.stdout
        nodeids = Counter(r["nodeid"] for r in server.records)
        assert len(nodeids) == 30 and set(nodeids.values()) == {1}  # every record, once
        posted = [p for p in server.posts if p["body"]["batch"]["kind"] == "records"]
        pieces = [p for p in posted if "records_range" in p["body"]]
        assert len(pieces) == 9  # three batches of 10, each cut into 4 + 4 + 2
        for post in pieces:
            low, high = post["body"]["records_range"]
            assert post["key"].startswith(f"r1-r{low}-{high}-")
            assert len(post["body"]["records"]) == high - low + 1 <= 4

        again = _ingest(pytester.path)  # everything acknowledged: nothing is posted again
        assert again.returncode == 0 and "already acknowledged" in again.stdout
        assert len(server.stored) == 1 + 9

    # the same ranges cut again get the same keys (a second machine resending the copy)
    spool = Spool(copy).load()
    spool.resplit("r1", 4)
    assert {b.key for b in spool.batches if b.index} == {p["key"] for p in pieces}
    assert not any(json.loads(spool.body(b)).get("records") is None
                   for b in spool.pending() if b.index)
