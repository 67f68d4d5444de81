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
