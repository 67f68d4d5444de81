"""Collected items are frozen out of the garbage collector's sight in the outermost run
only; a run nested in another process's run (pytester inline) leaves the GC alone."""

from __future__ import annotations

import gc

import pytest

from tests.conftest import write_suite

PROBE = """
import gc
def pytest_sessionfinish(session):
    with open("frozen.txt", "w") as handle:
        handle.write(str(gc.get_freeze_count()))
"""


def test_a_run_freezes_its_collected_items(pytester: pytest.Pytester) -> None:
    write_suite(pytester.path)
    pytester.makeconftest(PROBE)
    result = pytester.runpytest_subprocess("arith.yaml", "--llmbench-models", "inproc:oracle")
    result.assert_outcomes(passed=10)
    assert int((pytester.path / "frozen.txt").read_text()) > 1000


def test_a_nested_run_does_not_freeze(pytester: pytest.Pytester) -> None:
    write_suite(pytester.path)
    pytester.makeconftest(PROBE)
    before = gc.get_freeze_count()
    result = pytester.runpytest_inprocess("arith.yaml", "--llmbench-models", "inproc:oracle")
    result.assert_outcomes(passed=10)
    assert int((pytester.path / "frozen.txt").read_text()) == before == gc.get_freeze_count()
