"""The engine's child starts as soon as pytest has parsed the command line (its SDK import
overlaps pytest's start-up); the run adopts that child, and a run that never calls ends it."""

from __future__ import annotations

import json

import psutil
import pytest

from pytest_llmbench.sim import SimServer

from ..conftest import read_records, write_suite

CONFTEST = """
import json, psutil, pytest

def _engine_children():
    found = []
    for child in psutil.Process().children():
        try:
            if "pytest_llmbench.calls.engine_child" in child.cmdline():
                found.append(child.pid)
        except psutil.Error:
            pass
    return found

@pytest.hookimpl(tryfirst=True)
def pytest_configure(config):
    (config.rootpath / "at_configure.json").write_text(json.dumps(_engine_children()))

def pytest_sessionfinish(session):
    (session.config.rootpath / "at_finish.json").write_text(json.dumps(_engine_children()))
"""


def _project(pytester: pytest.Pytester, sim: SimServer) -> None:
    write_suite(pytester.path)
    pytester.makeconftest(CONFTEST)
    pytester.makefile(".yaml", llmbench="models:\n  openai:oracle: {base_url: '"
                      + sim.base_url + "/v1', api_key: sk-test, max_retries: 0}\n")


def _pids(pytester: pytest.Pytester, name: str) -> list[int]:
    return json.loads((pytester.path / name).read_text())  # type: ignore[no-any-return]


def test_the_child_is_running_before_configure_and_the_run_adopts_it(
        pytester: pytest.Pytester, sim: SimServer) -> None:
    _project(pytester, sim)
    result = pytester.runpytest_subprocess("arith.yaml", "--llmbench-models", "openai:oracle",
                                           "-p", "no:cacheprovider")
    assert result.ret in (0, 1), result.stdout.str()
    early = _pids(pytester, "at_configure.json")
    assert len(early) == 1
    assert _pids(pytester, "at_finish.json") == []  # the engine closed its (only) child
    records = read_records(pytester)
    assert len(records) == 10 and all(r["outcome"] in ("passed", "failed") for r in records)
    assert all(r["ttft_s"] is not None for r in records)
    assert not psutil.pid_exists(early[0]) or psutil.Process(early[0]).status() == "zombie"


@pytest.mark.parametrize("args", [["--llmbench-engine", "thread"], ["-o", "llmbench_engine=thread"],
                                  ["--collect-only"], ["--llmbench-models", "inproc:echo"]])
def test_no_early_child_where_none_would_be_used(pytester: pytest.Pytester, sim: SimServer,
                                                 args: list[str]) -> None:
    _project(pytester, sim)
    models = [] if "--llmbench-models" in args else ["--llmbench-models", "openai:oracle"]
    result = pytester.runpytest_subprocess("arith.yaml", *models, *args, "-p", "no:cacheprovider")
    assert result.ret in (0, 1), result.stdout.str()
    assert _pids(pytester, "at_configure.json") == []


def test_a_run_that_stops_before_calling_ends_the_early_child(pytester: pytest.Pytester,
                                                             sim: SimServer) -> None:
    _project(pytester, sim)
    result = pytester.runpytest_subprocess("arith.yaml", "--llmbench-models", "openai:oracle",
                                           "--llmbench-timeout", "-1", "-p", "no:cacheprovider")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert "--llmbench-timeout" in result.stderr.str()
    (early,) = _pids(pytester, "at_configure.json")  # started, never adopted
    assert not psutil.pid_exists(early) or psutil.Process(early).status() == "zombie"
