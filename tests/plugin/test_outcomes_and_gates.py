"""Outcomes (passed / failed / error / skipped), gates and score-only mode."""

from __future__ import annotations

import pytest

from pytest_llmbench.errors import ConfigError
from pytest_llmbench.results.gates import evaluate, parse_gate
from tests.conftest import read_records, read_summary


def test_call_failure_is_an_error_with_one_clear_line(pytester: pytest.Pytester, suite_dir) -> None:
    result = pytester.runpytest("arith.yaml", "--llmbench-models", "inproc:error", "-k", "q001",
                                "--llmbench-max-retries", "1")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*inproc:error - InternalServerError: simulated server error*"])
    record = read_records(pytester)[0]
    assert record["outcome"] == "error" and record["error_kind"] == "server_error"
    assert record["error"] == ("inproc:error - InternalServerError: simulated server error "
                               "(after 2 attempts)")
    assert record["attempts"] == 2
    assert read_summary(pytester)[0]["error_rate"] == 1.0


def test_skipped_items_are_recorded(pytester: pytest.Pytester, suite_dir) -> None:
    pytester.makeconftest("""
        import pytest
        def pytest_collection_modifyitems(items):
            for item in items:
                if "q002" in item.name:
                    item.add_marker(pytest.mark.skip(reason="flaky row"))
    """)
    result = pytester.runpytest("arith.yaml", "--llmbench-models", "inproc:oracle")
    result.assert_outcomes(passed=9, skipped=1)
    skipped = [r for r in read_records(pytester) if r["outcome"] == "skipped"]
    assert [r["case_id"] for r in skipped] == ["q002"]


def test_gates_decide_the_exit_status(pytester: pytest.Pytester, suite_dir) -> None:
    pytester.makefile(".yaml", llmbench="models:\n  inproc:oracle:\n    accuracy: 0.6\n")
    base = ("arith.yaml", "--llmbench-models", "inproc:oracle", "--llmbench-score-only")
    ok = pytester.runpytest(*base, "--llmbench-gate", "accuracy>=0.3")
    assert ok.ret == pytest.ExitCode.OK
    ok.stdout.fnmatch_lines(["*all llmbench gates passed*"])
    bad = pytester.runpytest(*base, "--llmbench-gate", "arith:accuracy>=95%",
                             "--llmbench-gate", "latency_p95<=2s")
    assert bad.ret == pytest.ExitCode.TESTS_FAILED
    bad.stdout.fnmatch_lines(["*FAIL gate arith x inproc:oracle: accuracy = 0.*, gate "
                              "arith:accuracy>=95%*"])
    assert "latency_p95<=2s" not in bad.stdout.str().split("FAIL gate", 1)[1]


def test_suite_file_gates(pytester: pytest.Pytester) -> None:
    from tests.conftest import write_suite

    write_suite(pytester.path, extra="gates: ['error_rate<=0%']\n")
    result = pytester.runpytest("arith.yaml", "--llmbench-models", "inproc:error")
    result.stdout.fnmatch_lines(["*FAIL gate arith x inproc:error: error_rate = 1*"])


def test_score_only_records_wrong_answers_without_failing(pytester: pytest.Pytester,
                                                          suite_dir) -> None:
    result = pytester.runpytest("arith.yaml", "--llmbench-models", "inproc:wrong",
                                "--llmbench-score-only")
    assert result.ret == pytest.ExitCode.OK
    assert {r["outcome"] for r in read_records(pytester)} == {"failed"}


def test_gate_parsing() -> None:
    gate = parse_gate("gsm8k:latency_p95<=500ms")
    assert (gate.suite, gate.metric, gate.op, gate.value) == ("gsm8k", "latency_p95", "<=", 0.5)
    assert parse_gate("error_rate<5%").value == 0.05
    row = {"suite": "gsm8k", "model": "m", "latency_p95": 0.7, "accuracy": None}
    assert evaluate([gate], row and [row]) == ["gsm8k x m: latency_p95 = 0.7, gate "
                                               "gsm8k:latency_p95<=500ms"]
    assert "unknown" in evaluate([parse_gate("accuracy>=0.5")], [row])[0]
    with pytest.raises(ConfigError, match="unknown gate metric 'speed'"):
        parse_gate("speed>1")
