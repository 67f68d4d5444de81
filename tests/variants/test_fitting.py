"""Optimizer variants: fitted once per (suite, model) under xdist, stored in the run
directory, shown in the report and reused by a later run or a resumed one."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from pytest_llmbench.sim import start_sim_process
from tests.conftest import read_records, read_summary
from tests.variants.conftest import TRAIN, fit_calls

FITTED = ("arith.yaml", "--llmbench-variants", "fitted,ask", "-p", "no:cacheprovider",
          "--llmbench-score-only")


@pytest.fixture
def sim(monkeypatch: pytest.MonkeyPatch):
    """One simulator the runs share (via $LLMBENCH_SIM_URL), so its /metrics count
    every model call the fitting made, in whichever worker."""
    process = start_sim_process(port=0)
    monkeypatch.setenv("LLMBENCH_SIM_URL", process.base_url)
    yield process
    process.stop()


def _train_calls(sim) -> Counter[tuple[str, str]]:
    return Counter((r["model"], r["case_id"]) for r in sim.metrics()["recent"]
                   if "/train/" in str(r.get("case_id")))


def _run_dir(pytester: pytest.Pytester) -> Path:
    return (pytester.path / ".llmbench" / "runs" / "latest").resolve()


def test_fitting_runs_once_per_model_under_two_workers(pytester: pytest.Pytester, variant_dir,
                                                       sim) -> None:
    result = pytester.runpytest_subprocess(*FITTED, "--llmbench-models", "sim:default,sim:fast",
                                           "-n", "2")
    result.assert_outcomes(passed=40)
    calls = fit_calls(pytester.path)
    assert sorted(line.split()[0] for line in calls) == ["sim:default", "sim:fast"]
    assert all(line.split()[1].startswith("gw") for line in calls)
    # every train row was asked exactly once per model, wherever the items ran
    assert _train_calls(sim) == Counter({(m, f"arith/train/{row['id']}"): 1
                                         for m in ("default", "fast") for row in TRAIN})
    assert len({r["worker"] for r in read_records(pytester)}) == 2
    fitted = json.loads((_run_dir(pytester) / "variants" / "arith" / "fitted" /
                         "sim:fast.json").read_text())
    assert fitted["calls"] == 4 and fitted["time_s"] > 0 and fitted["optimizer"] == "fitter:fit"
    assert fitted["prompt"]["system"] == "Fitted system prompt."
    rows = {(r["model"], r["variant"]): r for r in read_summary(pytester)}
    assert rows[("sim:fast", "fitted")]["fit_calls"] == 4
    assert rows[("sim:fast", "ask")].get("fit_calls") is None
    result.stdout.fnmatch_lines(["*fitted prompt arith/fitted x sim:default: fitter:fit in *s, "
                                 "4 calls, cost *"])


def test_a_later_run_reuses_the_fitted_prompt(pytester: pytest.Pytester, variant_dir,
                                              sim) -> None:
    pytester.runpytest_subprocess(*FITTED, "--llmbench-models", "sim:default")
    first = _run_dir(pytester).name
    assert len(fit_calls(pytester.path)) == 1
    result = pytester.runpytest_subprocess(*FITTED, "--llmbench-models", "sim:default",
                                           "--llmbench-fitted", "latest", "-n", "2")
    result.assert_outcomes(passed=20)
    assert len(fit_calls(pytester.path)) == 1  # not fitted again
    assert sum(_train_calls(sim).values()) == len(TRAIN)
    fitted = json.loads((_run_dir(pytester) / "variants" / "arith" / "fitted" /
                         "sim:default.json").read_text())
    assert fitted["reused_from"] == first
    result.stdout.fnmatch_lines([f"*fitted prompt arith/fitted x sim:default: reused from run "
                                 f"{first}*"])
    prompts = {r["prompt"][0]["content"] for r in read_records(pytester)
               if r["variant"] == "fitted"}
    assert prompts == {"Fitted system prompt."}


def test_a_resumed_run_keeps_its_fitted_prompt(pytester: pytest.Pytester, variant_dir) -> None:
    args = (*FITTED, "--llmbench-models", "inproc:oracle", "--llmbench-run-id", "r1")
    pytester.runpytest_subprocess(*args, "-k", "q001 or q002")
    pytester.runpytest_subprocess(*args, "-k", "not (q001 or q002)")
    assert len(fit_calls(pytester.path)) == 1
    assert len(read_records(pytester)) == 20


def test_unknown_fitted_run_is_a_usage_error(pytester: pytest.Pytester, variant_dir) -> None:
    result = pytester.runpytest(*FITTED, "--llmbench-models", "inproc:oracle",
                                "--llmbench-fitted", "nope")
    result.stderr.fnmatch_lines(["*--llmbench-fitted: no run 'nope' under *"])
