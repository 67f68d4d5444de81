"""--llmbench-budget against the simulator's priced models: calls stop, items are skipped."""

from __future__ import annotations

import pytest

from pytest_llmbench.sim import SimServer
from tests.conftest import read_records
from tests.lifecycle.conftest import models_config, sim_requests

PRICE = "{input_per_mtok: 1000, output_per_mtok: 1000}"


@pytest.mark.parametrize("workers", ["0", "2"])
def test_budget_stops_new_calls_and_skips_the_rest(pytester: pytest.Pytester, echo_suite,
                                                   sim: SimServer, workers: str) -> None:
    models_config(pytester.path, sim.base_url, PRICE)
    result = pytester.runpytest_subprocess("echo.yaml", "-n", workers, "--llmbench-budget",
                                           "0.02", "-p", "no:cacheprovider")
    records = read_records(pytester)
    called = [r for r in records if r["calls"]]
    skipped = [r for r in records if r["outcome"] == "skipped"]
    assert len(records) == 20 and called and skipped
    assert sum(r["cost_usd"] for r in called) <= 0.02
    assert all("llmbench budget $0.02 reached" in r["error"] for r in skipped)
    assert sim_requests(sim) == len(called)  # a skipped item sent nothing
    result.stdout.fnmatch_lines(["*llmbench budget $0.02 reached*the items left are skipped*",
                                 f"*llmbench budget: $0.0* spent of $0.02; stopped starting "
                                 f"calls, {len(skipped)} items skipped*"])
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    assert "sk-test-secret" not in result.stdout.str()


def test_budget_not_reached_says_so(pytester: pytest.Pytester, echo_suite,
                                    sim: SimServer) -> None:
    models_config(pytester.path, sim.base_url, PRICE)
    result = pytester.runpytest_subprocess("echo.yaml", "--llmbench-budget", "$5",
                                           "-p", "no:cacheprovider")
    result.assert_outcomes(passed=20)
    result.stdout.fnmatch_lines(["*llmbench budget: $0.* spent of $5.00; not reached*"])


def test_bad_budget_is_a_usage_error(pytester: pytest.Pytester, echo_suite) -> None:
    result = pytester.runpytest_subprocess("echo.yaml", "--llmbench-budget", "-1")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--llmbench-budget: invalid value '-1'*must be > 0*"])


def test_a_first_call_whose_prompt_alone_passes_the_budget_is_not_started(
        pytester: pytest.Pytester, echo_suite, sim: SimServer) -> None:
    models_config(pytester.path, sim.base_url, PRICE)  # $0.001 per prompt token
    pytester.runpytest_subprocess("echo.yaml", "--llmbench-budget", "0.0001",
                                  "-p", "no:cacheprovider")
    records = read_records(pytester)
    assert records and all(r["outcome"] == "skipped" and not r["calls"] for r in records)
    assert sim_requests(sim) == 0  # nothing spent beyond the budget
