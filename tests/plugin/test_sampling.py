"""Deterministic subset sampling and test mode."""

from __future__ import annotations

import pytest

from pytest_llmbench.errors import ConfigError
from pytest_llmbench.suites.sampling import parse_sample, sample
from tests.conftest import read_records

ROWS = [{"id": f"r{i:03d}", "question": str(i), "answer": str(i)} for i in range(100)]


def _ids(pytester: pytest.Pytester) -> list[str]:
    return [r["case_id"] for r in read_records(pytester)]


@pytest.fixture
def big_suite(pytester: pytest.Pytester) -> None:
    from tests.conftest import write_suite

    write_suite(pytester.path, rows=ROWS)


@pytest.mark.parametrize(("value", "count"), [("7", 7), ("5%", 5), ("100%", 100)])
def test_sample_counts_and_percentages(pytester: pytest.Pytester, big_suite, value: str,
                                       count: int) -> None:
    result = pytester.runpytest("arith.yaml", "--llmbench-models", "inproc:oracle",
                                "--llmbench-sample", value)
    result.assert_outcomes(passed=count)


def test_sample_is_identical_across_runs_and_changes_with_seed(pytester: pytest.Pytester,
                                                              big_suite) -> None:
    args = ("arith.yaml", "--llmbench-models", "inproc:oracle", "--llmbench-sample", "10")
    pytester.runpytest(*args)
    first = _ids(pytester)
    pytester.runpytest(*args)
    assert _ids(pytester) == first
    assert first == sorted(first)  # dataset order is kept
    pytester.runpytest(*args, "--llmbench-seed", "7")
    assert _ids(pytester) != first


def test_test_mode_runs_five_per_suite(pytester: pytest.Pytester, big_suite) -> None:
    result = pytester.runpytest("arith.yaml", "--llmbench-models", "inproc:oracle",
                                "--llmbench-test-mode")
    result.assert_outcomes(passed=5)


def test_suite_file_sample_and_cli_override(pytester: pytest.Pytester) -> None:
    from tests.conftest import write_suite

    write_suite(pytester.path, rows=ROWS, extra="sample: 3\n")
    pytester.runpytest("arith.yaml", "--llmbench-models", "inproc:oracle").assert_outcomes(passed=3)
    pytester.runpytest("arith.yaml", "--llmbench-models", "inproc:oracle",
                       "--llmbench-sample", "4").assert_outcomes(passed=4)


def test_bad_sample_value_is_a_usage_error(pytester: pytest.Pytester, big_suite) -> None:
    result = pytester.runpytest("arith.yaml", "--llmbench-sample", "lots")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--llmbench-sample: 'lots' is not a count (50) or a "
                                 "percentage (5%)*"])


def test_sampling_unit() -> None:
    items = list(range(50))
    ids = [str(i) for i in items]
    picked = sample(items, ids, 10, seed=42, salt="s")
    assert len(picked) == 10 and picked == sorted(picked)
    assert sample(items, ids, 10, seed=42, salt="s") == picked
    assert parse_sample("5%") == 0.05 and parse_sample(3) == 3
    with pytest.raises(ConfigError):
        parse_sample("0")


def test_a_suite_shared_by_two_tests_is_sampled_once(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_shared="""
        import pytest
        from pytest_llmbench.suites.loader import build_suite

        SUITE = build_suite(name="shared", rows=[({"id": f"r{i}", "prompt": "p", "answer": "a"},
                                                  None) for i in range(20)])

        @pytest.mark.llmbench(suite=SUITE)
        def test_one(bench_case):
            pass

        @pytest.mark.llmbench(suite=SUITE)
        def test_two(bench_case):
            pass
    """)
    result = pytester.runpytest("test_shared.py", "--llmbench-models", "inproc:oracle",
                                "--llmbench-sample", "50%")
    result.assert_outcomes(passed=20)
