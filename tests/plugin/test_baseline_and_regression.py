"""--llmbench-baseline and --llmbench-regression: compare.json and the exit status."""

from __future__ import annotations

import json

import pytest

from tests.conftest import write_suite

ROWS = [{"id": f"q{i:03d}", "question": f"{i} + {i}", "answer": str(2 * i)} for i in range(40)]


@pytest.fixture
def big_suite(pytester: pytest.Pytester) -> None:
    write_suite(pytester.path, rows=ROWS)


def run(pytester: pytest.Pytester, accuracy: float, *args: str) -> pytest.RunResult:
    pytester.makefile(".yaml", llmbench=f"models:\n  inproc:oracle:\n    accuracy: {accuracy}\n")
    return pytester.runpytest("arith.yaml", "--llmbench-models", "inproc:oracle",
                              "--llmbench-score-only", *args)


def test_regression_against_the_previous_run_fails_the_session(pytester: pytest.Pytester,
                                                               big_suite: None) -> None:
    first = run(pytester, 1.0, "--llmbench-run-id", "good", "--llmbench-baseline", "latest",
                "--llmbench-regression", "accuracy -2pt")
    assert first.ret == pytest.ExitCode.OK
    first.stdout.fnmatch_lines(["*no earlier run in * to compare with; regression gates not checked*"])

    second = run(pytester, 0.6, "--llmbench-run-id", "worse", "--llmbench-baseline", "latest",
                 "--llmbench-regression", "accuracy -2pt significant",
                 "--llmbench-regression", "latency_p95 +10000%")
    assert second.ret == pytest.ExitCode.TESTS_FAILED
    second.stdout.fnmatch_lines([
        "*llmbench compare / export / ingest*",
        "baseline: good*", "candidate: worse*",
        "arith x inproc:oracle  100.0% -> *",
        "FAIL regression arith x inproc:oracle: accuracy 1 -> 0.* (worse by *pt, McNemar p=*), "
        "regression gate 'accuracy -2pt significant'",
    ])
    runs = pytester.path / ".llmbench" / "runs"
    doc = json.loads((runs / "worse" / "compare.json").read_text())
    assert doc["baseline"]["run_id"] == "good" and doc["candidates"][0]["run_id"] == "worse"
    (row,) = doc["rows"]
    assert row["paired"]["n"] == 40 and row["paired"]["fail_to_pass"] == 0
    assert row["significant"] and "accuracy" in row["regressions"]
    info = json.loads((runs / "worse" / "run.json").read_text())
    assert info["baseline"] == "good" and len(info["regression_failures"]) == 1

    by_id = run(pytester, 1.0, "--llmbench-baseline", "good", "--llmbench-regression", "accuracy -2pt")
    assert by_id.ret == pytest.ExitCode.OK
    by_id.stdout.fnmatch_lines(["all regression gates passed"])


def test_bad_regression_options_are_usage_errors(pytester: pytest.Pytester, big_suite: None) -> None:
    no_baseline = run(pytester, 1.0, "--llmbench-regression", "accuracy -2pt")
    assert no_baseline.ret == pytest.ExitCode.USAGE_ERROR
    no_baseline.stderr.fnmatch_lines(["*--llmbench-regression needs a baseline: pass "
                                      "--llmbench-baseline RUN|latest*"])
    bad = run(pytester, 1.0, "--llmbench-baseline", "latest", "--llmbench-regression", "accuracy +2")
    bad.stderr.fnmatch_lines(["*--llmbench-regression: 'accuracy +2': accuracy regresses when it "
                              "drops, write 'accuracy -2'*"])
    missing = run(pytester, 1.0, "--llmbench-baseline", "nope")
    assert missing.ret == pytest.ExitCode.USAGE_ERROR
    missing.stderr.fnmatch_lines(["*--llmbench-baseline: no run 'nope' under *"])


def test_baseline_under_xdist(pytester: pytest.Pytester, big_suite: None) -> None:
    run(pytester, 1.0, "--llmbench-run-id", "a", "-p", "no:xdist")
    result = run(pytester, 1.0, "--llmbench-run-id", "b", "-n", "2", "--llmbench-baseline", "a",
                 "--llmbench-regression", "accuracy -1pt")
    assert result.ret == pytest.ExitCode.OK
    doc = json.loads((pytester.path / ".llmbench/runs/b/compare.json").read_text())
    assert doc["rows"][0]["paired"]["n"] == 40 and doc["gate_failures"] == []
