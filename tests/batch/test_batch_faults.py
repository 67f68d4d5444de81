"""Batches that go wrong: each fault fails exactly the items it touched, with the
provider's reason, and nothing else is lost."""

from __future__ import annotations

import threading
import time

import openai
import pytest

from pytest_llmbench.sim import SimServer
from tests.batch.conftest import MODELS, models_config
from tests.conftest import ROWS, read_records, write_suite


def _run(pytester: pytest.Pytester, provider: str, *args: str) -> pytest.RunResult:
    return pytester.runpytest_subprocess("arith.yaml", "--llmbench-models", MODELS[provider],
                                         "--llmbench-batch", "-p", "no:cacheprovider", *args)


def _by_outcome(pytester: pytest.Pytester) -> dict[str, list[dict]]:
    out: dict[str, list[dict]] = {}
    for record in read_records(pytester):
        out.setdefault(record["outcome"], []).append(record)
    return out


@pytest.mark.parametrize("provider", ["openai", "anthropic", "bedrock"])
def test_partly_failed_batch_errors_exactly_the_failed_items(
        pytester: pytest.Pytester, sim: SimServer, provider: str) -> None:
    write_suite(pytester.path)
    models_config(pytester.path, sim)
    sim.state.batches.settings.update({"fail_fraction": 0.4, "fail_kind": "server_error"})
    result = _run(pytester, provider)
    records = _by_outcome(pytester)
    job = list(sim.state.batches.jobs.values())[-1]
    failed = {o.item.custom_id for o in job.outcomes(sim.state) if o.error is not None}
    # drawn per (random) job id: the counts must agree with the draw whatever it was
    result.assert_outcomes(passed=len(ROWS) - len(failed), errors=len(failed))
    assert len(records.get("error", [])) == len(failed)
    for record in records.get("error", []):
        assert "injected batch fault" in record["error"]  # the provider's own reason
        assert record["error_kind"] == "server_error"
        assert record["batch"] is False or record["calls"] == 0
    assert all(r["batch"] and r["cost_usd"] for r in records.get("passed", []))


@pytest.mark.parametrize("provider", ["openai", "anthropic", "bedrock"])
def test_malformed_and_missing_result_lines_fail_only_their_items(
        pytester: pytest.Pytester, sim: SimServer, provider: str) -> None:
    write_suite(pytester.path)
    models_config(pytester.path, sim)
    sim.state.batches.settings.update({"malformed_fraction": 0.3, "missing_fraction": 0.3})
    _run(pytester, provider)
    job = list(sim.state.batches.jobs.values())[-1]
    outcomes = job.outcomes(sim.state)
    # drawn per (random) job id: none broken has odds 0.49**10 (0.08%), so no precondition;
    # the counts below must agree with the draw whatever it was
    broken = [o for o in outcomes if o.malformed or o.missing]
    records = _by_outcome(pytester)
    assert len(records.get("passed", [])) == len(ROWS) - len(broken)
    assert len(records.get("error", [])) == len(broken)
    for record in records.get("error", []):
        assert "MissingBatchResult: no result for this request in batch" in record["error"]
        assert record["error_kind"] == "missing_result"
    if any(o.malformed and not o.missing for o in outcomes):  # a missing line has no half
        assert any("could not be read" in r["error"] for r in records.get("error", []))


def test_expired_batch_errors_the_items_it_never_ran(pytester: pytest.Pytester,
                                                     sim: SimServer) -> None:
    write_suite(pytester.path)
    models_config(pytester.path, sim)
    sim.state.batches.settings.update({"validate_s": 0.0, "process_s": 1.0, "expire_s": 0.45})
    _run(pytester, "anthropic")
    records = _by_outcome(pytester)
    assert records.get("passed") and records.get("error")
    assert len(records["passed"]) + len(records["error"]) == len(ROWS)
    for record in records["error"]:
        assert record["error_kind"] == "expired"
        assert "batch_expired" in record["error"]


def test_batch_cancelled_from_outside(pytester: pytest.Pytester, sim: SimServer) -> None:
    write_suite(pytester.path)
    models_config(pytester.path, sim)
    sim.state.batches.settings.update({"validate_s": 0.0, "process_s": 6.0})
    before = set(sim.state.batches.jobs)

    def cancel_when_half_done() -> None:
        client = openai.OpenAI(base_url=sim.base_url + "/v1", api_key="sk-test")
        deadline = time.time() + 60
        while time.time() < deadline:
            new = [j for j in sim.state.batches.jobs if j not in before]
            if new:
                job = sim.state.batches.jobs[new[0]]
                if time.time() > job.created + 3.0:
                    client.batches.cancel(new[0])  # someone cancels it in the console
                    return
            time.sleep(0.05)

    thread = threading.Thread(target=cancel_when_half_done)
    thread.start()
    _run(pytester, "openai")
    thread.join()
    records = _by_outcome(pytester)
    assert records.get("passed") and records.get("error")
    assert len(records["passed"]) + len(records["error"]) == len(ROWS)
    for record in records["error"]:
        assert record["error_kind"] == "cancelled"
        assert "batch_cancelled" in record["error"]


def test_missing_s3_output_object_errors_that_jobs_items(pytester: pytest.Pytester,
                                                         sim: SimServer) -> None:
    write_suite(pytester.path)
    models_config(pytester.path, sim)
    sim.state.batches.settings.update({"lose_output": True})
    result = _run(pytester, "bedrock")
    result.assert_outcomes(errors=len(ROWS))
    for record in read_records(pytester):
        assert "the output object s3://bench/llmbench/output/" in record["error"]
        assert "NoSuchKey" in record["error"]
