"""End-to-end ``--llmbench-batch`` runs: pytest items answered from provider batches that
the real SDKs send to the simulator."""

from __future__ import annotations

import pytest

from pytest_llmbench.sim import SimServer
from tests.batch.conftest import MODELS, models_config
from tests.conftest import ROWS, read_records, read_summary, write_suite


@pytest.mark.parametrize("provider", ["openai", "anthropic", "bedrock"])
def test_batch_run_answers_every_item(pytester: pytest.Pytester, sim: SimServer,
                                      provider: str) -> None:
    write_suite(pytester.path)
    models_config(pytester.path, sim)
    before = len(sim.state.batches.jobs)
    result = pytester.runpytest_subprocess("arith.yaml", "--llmbench-models", MODELS[provider],
                                           "--llmbench-batch", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=len(ROWS))
    assert len(sim.state.batches.jobs) == before + 1  # one batch for the whole run
    records = read_records(pytester)
    assert len(records) == len(ROWS)
    for record in records:
        assert record["batch"] is True
        assert record["latency_s"] is None and record["ttft_s"] is None
        assert record["output_tps"] is None
        assert record["input_tokens"] > 0 and record["output_tokens"] >= 1
        assert record["cost_usd"] is not None and record["cost_usd"] > 0
        assert record["cost_basis"]
    row = read_summary(pytester)[0]
    assert row["batch_items"] == len(ROWS)
    assert row["latency_p50"] is None and row["ttft_p50"] is None
    assert row["cost_usd"] > 0
    result.stdout.fnmatch_lines(["*llmbench batch * ended*", "*not measured for batch*"])


def test_one_batch_for_the_run_under_xdist(pytester: pytest.Pytester, sim: SimServer) -> None:
    write_suite(pytester.path)
    models_config(pytester.path, sim)
    before = len(sim.state.batches.jobs)
    result = pytester.runpytest_subprocess("arith.yaml", "--llmbench-models", MODELS["openai"],
                                           "--llmbench-batch", "-n", "2", "--llmbench-dist", "off",
                                           "-p", "no:cacheprovider")  # items spread over both
    result.assert_outcomes(passed=len(ROWS))
    assert len(sim.state.batches.jobs) == before + 1  # the workers share one batch
    records = read_records(pytester)
    assert {r["worker"] for r in records} == {"gw0", "gw1"}
    assert all(r["batch"] and r["latency_s"] is None for r in records)
    batch_lines = [line for line in result.stdout.lines if "llmbench batch" in line]
    assert batch_lines and all(line.startswith("llmbench batch") for line in batch_lines)


def test_batch_true_in_the_config_batches_that_model_only(pytester: pytest.Pytester,
                                                          sim: SimServer) -> None:
    write_suite(pytester.path)
    models_config(pytester.path, sim, extra="    batch: true\n")  # the bedrock entry
    before = len(sim.state.batches.jobs)
    result = pytester.runpytest_subprocess(
        "arith.yaml", "--llmbench-models", f"{MODELS['openai']},{MODELS['bedrock']}",
        "-p", "no:cacheprovider")
    result.assert_outcomes(passed=2 * len(ROWS))
    assert len(sim.state.batches.jobs) == before + 1
    by_model = {}
    for record in read_records(pytester):
        by_model.setdefault(record["model"], []).append(record)
    assert all(r["batch"] and r["latency_s"] is None for r in by_model[MODELS["bedrock"]])
    assert all(not r["batch"] and r["latency_s"] > 0 for r in by_model[MODELS["openai"]])


def test_a_provider_without_batches_is_a_usage_error(pytester: pytest.Pytester,
                                                     sim: SimServer) -> None:
    write_suite(pytester.path)
    result = pytester.runpytest_subprocess("arith.yaml", "--llmbench-models",
                                           "groq:llama-3.3-70b,openai:gpt-4o-mini",
                                           "--llmbench-batch")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--llmbench-batch: no batch API for groq:llama-3.3-70b *"])


def test_large_runs_are_split_by_the_provider_limits(pytester: pytest.Pytester,
                                                      sim: SimServer) -> None:
    write_suite(pytester.path)
    models_config(pytester.path, sim, extra="    batch_max_requests: 4\n")
    before = len(sim.state.batches.jobs)
    result = pytester.runpytest_subprocess("arith.yaml", "--llmbench-models", MODELS["bedrock"],
                                           "--llmbench-batch", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=len(ROWS))
    jobs = list(sim.state.batches.jobs.values())[before:]
    assert [len(j.items) for j in jobs] == [4, 4, 2]
