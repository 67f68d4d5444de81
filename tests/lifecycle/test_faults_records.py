"""records.jsonl lines that are not records: every reader names the file and line, skips
the line with a warning and goes on; resume runs that item again and keeps the line."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import write_suite
from tests.report.ingest_server import IngestServer, serve

ARGS = ("arith.yaml", "--llmbench-models", "inproc:oracle", "-p", "no:cacheprovider",
        "-p", "no:xdist", "--llmbench-run-id", "r1")
# (the bad line, the reason a reader gives for it)
BAD = [
    (b'{"suite": "arith", "nodeid": "x"}\n', "not a record ('model' is missing)"),
    (b'[1, 2, 3]\n', "not a record (a JSON array, not an object)"),
    (b'{"nodeid": "x", "suite": "arith", "case_id": "q1", "model": "m", "outcome": "passed", '
     b'"latency_s": "fast"}\n', "'latency_s' must be a number, not string"),
    (b'{"nodeid": "\xff\xfe", "suite": "arith"}\n', "invalid UTF-8 at byte"),
    (b'{"nodeid": "x", "suite": "arith", "case_id": "q", "model": "m", "outcome": "great"}\n',
     "'outcome' must be one of passed, failed, error, skipped, not 'great'"),
]
# A record without its node id serves reports, but resume cannot tell which item it is.
NO_NODEID = (b'{"suite": "arith", "case_id": "q", "model": "inproc:oracle", "outcome": "passed"}'
             b'\n', "not a record ('nodeid' is missing)")


def _cli(cwd: Path, *args: str, env: dict[str, str] | None = None
         ) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "pytest_llmbench.cli", *args], cwd=cwd,
                          capture_output=True, text=True, timeout=120, check=False,
                          env={**os.environ, **(env or {})})


@pytest.fixture
def corrupted(pytester: pytest.Pytester) -> Path:
    """A finished 10-item run whose records.jsonl has the bad lines above in place of the
    third record (the item it held is then unknown to every reader)."""
    write_suite(pytester.path)
    assert pytester.runpytest_subprocess(*ARGS).ret == 0
    run = pytester.path / ".llmbench/runs/r1"
    lines = (run / "records.jsonl").read_bytes().splitlines(keepends=True)
    assert len(lines) == 10
    replaced = json.loads(lines[2])
    broken = dict(replaced, latency_s="fast")  # the same item, a wrong field type
    bad = [line for line, _ in BAD] + [json.dumps(broken).encode() + b"\n", NO_NODEID[0]]
    (run / "records.jsonl").write_bytes(b"".join(lines[:2] + bad + lines[3:]))
    (pytester.path / "replaced.txt").write_text(replaced["nodeid"])
    return run


def _warned(text: str, run: Path) -> None:
    for number, (_, reason) in enumerate(BAD, start=3):
        assert f"{run}/records.jsonl:{number}: {reason}" in text, (number, text)
    assert "Traceback" not in text and "INTERNALERROR" not in text


def test_resume_names_each_bad_line_skips_it_and_runs_its_item_again(
        pytester: pytest.Pytester, corrupted: Path) -> None:
    result = pytester.runpytest_subprocess(*ARGS[:-2], "--llmbench-resume", "r1")
    assert result.ret == 0
    _warned(result.stderr.str(), corrupted)
    result.stderr.fnmatch_lines(["*records.jsonl:8: 'latency_s' must be a number, not string; "
                                 "line skipped (kept in records.unreadable.jsonl; its item runs "
                                 "again)"])
    result.stderr.fnmatch_lines([f"*records.jsonl:9: {NO_NODEID[1]}; line skipped*"])
    result.assert_outcomes(passed=1)  # only the item whose record was unreadable
    records = [json.loads(line) for line in (corrupted / "records.jsonl").read_text().splitlines()]
    assert sorted(r["nodeid"] for r in records) == sorted({r["nodeid"] for r in records})
    assert len(records) == 10
    assert (pytester.path / "replaced.txt").read_text() in {r["nodeid"] for r in records}
    kept = (corrupted / "records.unreadable.jsonl").read_bytes()
    assert all(line in kept for line, _ in [*BAD, NO_NODEID])  # nothing read is thrown away


def test_report_compare_merge_and_ingest_skip_bad_lines_with_a_warning(
        pytester: pytest.Pytester, corrupted: Path) -> None:
    cwd = pytester.path
    report = _cli(cwd, "report", "r1")
    assert report.returncode == 0, report.stderr
    _warned(report.stderr, corrupted)
    assert (corrupted / "report.html").is_file()

    assert pytester.runpytest_subprocess(*ARGS[:-1], "r2").ret == 0
    compare = _cli(cwd, "compare", "r1", "r2")
    assert compare.returncode == 0, compare.stderr
    _warned(compare.stderr, corrupted)
    assert "inproc:oracle" in compare.stdout

    merged = _cli(cwd, "merge", "r1", "r2", "-o", str(cwd / "merged"))
    assert merged.returncode == 0, merged.stderr
    _warned(merged.stderr, corrupted)
    assert len((cwd / "merged/records.jsonl").read_text().splitlines()) == 10 + 10

    with serve(IngestServer()) as server:
        ingest = _cli(cwd, "ingest", "r1", "--url", server.url, env={"INGEST_API_KEY": "k"})
        assert ingest.returncode == 0, ingest.stderr
        _warned(ingest.stderr, corrupted)
        assert len(server.records) == 10  # nine good records and the one without a node id
