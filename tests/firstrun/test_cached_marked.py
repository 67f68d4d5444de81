"""Cached answers are marked and never timed (issue 17, point 7)."""

from __future__ import annotations

import pytest

from tests.conftest import read_records, read_summary


def test_cached_answers_are_counted_and_not_timed(pytester: pytest.Pytester, suite_dir) -> None:
    args = ["arith.yaml", "--llmbench-models", "inproc:oracle", "--llmbench-cache", "readwrite"]
    first = pytester.runpytest(*args)
    first.assert_outcomes(passed=10)
    assert all(r["latency_s"] is not None and r["cached_calls"] == 0
               for r in read_records(pytester))
    assert read_summary(pytester)[0]["cached"] == 0
    again = pytester.runpytest(*args, "--llmbench-gate", "latency_p95<=2s")
    again.assert_outcomes(passed=10)
    records = read_records(pytester)
    assert all(r["cached_calls"] == 1 for r in records)
    assert all(r["latency_s"] is None and r["ttft_s"] is None and r["output_tps"] is None
               for r in records)
    row = read_summary(pytester)[0]
    assert row["cached"] == 10 and row["latency_p95"] is None and row["ttft_p50"] is None
    assert row["accuracy"] == 1.0
    again.stdout.fnmatch_lines([
        "arith *inproc:oracle *10 *10 *0 *0 *100.0%* cached *cached *cached *cached*",
        "FAIL gate arith x inproc:oracle: latency_p95<=2s cannot be checked (latency_p95 is "
        "unknown; 10 of 10 answers came from the cache or a recording and were not timed)",
    ])
    assert again.ret == pytest.ExitCode.TESTS_FAILED
