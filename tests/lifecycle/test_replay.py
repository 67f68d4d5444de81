"""--llmbench-record then --llmbench-replay with the simulator gone: no network, a miss
fails its item naming the key."""

from __future__ import annotations

import json

import pytest

from pytest_llmbench.sim import SimServer
from tests.conftest import read_records, read_summary, write_suite
from tests.lifecycle.conftest import ROWS, models_config, sim_requests

STABLE = ("nodeid", "outcome", "response", "input_tokens", "output_tokens", "cost_usd")
TIMED = ("latency_s", "ttft_s", "output_tps")  # measured in the recording run, not replayed


def _suite(pytester: pytest.Pytester, rows: list[dict]) -> None:
    write_suite(pytester.path, name="echo", rows=rows).write_text(
        "name: echo\ndataset: echo.jsonl\nprompt: '{question}'\nexpected: answer\n")


def test_record_then_replay_offline_with_a_miss(pytester: pytest.Pytester) -> None:
    _suite(pytester, ROWS)
    args = ("echo.yaml", "-p", "no:cacheprovider", "-n", "2")
    with SimServer() as sim:
        models_config(pytester.path, sim.base_url,
                      "{input_per_mtok: 1.0, output_per_mtok: 2.0}")
        recorded = pytester.runpytest_subprocess(*args, "--llmbench-record", "rec")
        recorded.assert_outcomes(passed=20)
        recorded.stdout.fnmatch_lines(["*llmbench record: 20 exchanges in *rec (replay with*"])
        assert sim_requests(sim) == 20
    before = {r["nodeid"]: r for r in read_records(pytester)}
    assert len(list((pytester.path / "rec").rglob("*.json"))) == 20

    # The simulator is gone: any request would fail to connect.
    replayed = pytester.runpytest_subprocess(*args, "--llmbench-replay", "rec")
    replayed.assert_outcomes(passed=20)
    after = read_records(pytester)
    assert all(r["cached_calls"] == 1 for r in after)
    for record in after:
        assert {k: record[k] for k in STABLE} == {k: before[record["nodeid"]][k] for k in STABLE}
        assert all(record[k] is None for k in TIMED)  # a replayed answer was not timed
    assert all(before[r["nodeid"]]["latency_s"] for r in after)
    assert read_summary(pytester)[0]["accuracy"] == 1.0
    replayed.stdout.fnmatch_lines(["*llmbench cache: 20 of 20 calls answered from *rec*"])

    _suite(pytester, [*ROWS, {"id": "new", "question": "never recorded", "answer": "x"}])
    missed = pytester.runpytest_subprocess(*args, "--llmbench-replay", "rec")
    missed.assert_outcomes(passed=20, errors=1)
    missed.stdout.fnmatch_lines(["*ERROR at setup of echo[[]openai:echo/new[]]*",
                                 "openai:echo - ReplayMiss: no recorded response for key * in "
                                 "*rec (--llmbench-replay); record it with --llmbench-record"])
    error = next(r for r in read_records(pytester) if r["case_id"] == "new")
    assert error["error_kind"] == "replay_miss"
    key = error["error"].split("for key ")[1].split()[0]
    assert len(key) == 64 and f"in {pytester.path / 'rec'}" in error["error"]
    assert missed.ret == pytest.ExitCode.TESTS_FAILED


def test_replay_needs_no_simulator_for_sim_models(pytester: pytest.Pytester) -> None:
    """``sim:`` models normally start a simulator; under replay none is started."""
    _suite(pytester, ROWS[:4])
    pytester.runpytest_subprocess("echo.yaml", "--llmbench-models", "sim:default",
                                  "--llmbench-record", "rec").assert_outcomes(passed=4)
    result = pytester.runpytest_subprocess("echo.yaml", "--llmbench-models", "sim:default",
                                           "--llmbench-replay", "rec")
    result.assert_outcomes(passed=4)
    info = json.loads((pytester.path / ".llmbench/runs/latest/run.json").read_text())
    assert info["replay"].endswith("rec")


def test_replay_of_a_missing_folder_is_a_usage_error(pytester: pytest.Pytester) -> None:
    _suite(pytester, ROWS[:2])
    result = pytester.runpytest_subprocess("echo.yaml", "--llmbench-replay", "nowhere")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--llmbench-replay: no recording folder *nowhere*"])
