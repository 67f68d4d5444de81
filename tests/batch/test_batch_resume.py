"""Ctrl-C leaves the batches running; --llmbench-resume waits on the same batch ids
(nothing sent or paid twice); --llmbench-retry-errors resubmits only the failed items."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

from pytest_llmbench.sim import SimServer
from tests.batch.conftest import MODELS, models_config
from tests.conftest import ROWS, read_records, write_suite


@pytest.mark.parametrize("xdist", [[], ["-n", "2"]], ids=["plain", "xdist"])
def test_ctrl_c_then_resume_uses_the_same_batch(pytester: pytest.Pytester, sim: SimServer,
                                                xdist: list[str]) -> None:
    write_suite(pytester.path)
    models_config(pytester.path, sim)
    sim.state.batches.settings.update({"validate_s": 0.0, "process_s": 3.0})
    before = len(sim.state.batches.jobs)
    args = ["arith.yaml", "--llmbench-models", MODELS["anthropic"], "--llmbench-batch",
            "-p", "no:cacheprovider", *xdist]
    process = subprocess.Popen([sys.executable, "-m", "pytest", *args, "--llmbench-run-id", "r1"],
                               cwd=pytester.path, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, env=dict(os.environ),
                               start_new_session=True)
    ledger = pytester.path / ".llmbench" / "runs" / "r1" / "batches" / "ledger.jsonl"
    deadline = time.time() + 60
    while not ledger.is_file() and time.time() < deadline and process.poll() is None:
        time.sleep(0.05)
    assert ledger.is_file(), process.communicate()[0].decode()
    time.sleep(0.3)
    os.killpg(process.pid, signal.SIGINT)  # Ctrl-C on a terminal: the whole process group
    output = process.communicate(timeout=60)[0].decode()
    assert process.returncode == pytest.ExitCode.INTERRUPTED, output
    assert "still running at the provider; --llmbench-resume r1 picks them up" in output, output
    jobs = list(sim.state.batches.jobs.values())[before:]
    assert len(jobs) == 1 and jobs[0].cancelled_at is None  # Ctrl-C left it running

    result = pytester.runpytest_subprocess(*args, "--llmbench-resume", "r1")
    result.assert_outcomes(passed=len(ROWS))
    assert len(sim.state.batches.jobs) == before + 1  # no second batch, nothing paid twice
    records = read_records(pytester)
    assert sorted(r["case_id"] for r in records) == sorted(r["id"] for r in ROWS)
    assert all(r["batch"] for r in records)


def test_retry_errors_resubmits_only_the_failed_items(pytester: pytest.Pytester,
                                                      sim: SimServer) -> None:
    write_suite(pytester.path)
    models_config(pytester.path, sim)
    sim.state.batches.settings.update({"fail_fraction": 0.4})
    args = ["arith.yaml", "--llmbench-models", MODELS["bedrock"], "--llmbench-batch",
            "-p", "no:cacheprovider"]
    first = pytester.runpytest_subprocess(*args, "--llmbench-run-id", "r2")
    failed = first.parseoutcomes().get("errors", 0)
    assert 0 < failed < len(ROWS)
    before = len(sim.state.batches.jobs)
    sim.state.batches.settings.update({"fail_fraction": 0.0})
    again = pytester.runpytest_subprocess(*args, "--llmbench-retry-errors", "r2")
    again.assert_outcomes(passed=failed)
    jobs = list(sim.state.batches.jobs.values())[before:]
    assert [len(j.items) for j in jobs] == [failed]  # only the failed items went out again
    records = read_records(pytester)
    assert len(records) == len(ROWS) and all(r["outcome"] == "passed" for r in records)
