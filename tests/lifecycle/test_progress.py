"""Live progress on the controller (plain lines, rich, off), exit status and --llmbench-debug."""

from __future__ import annotations

import re

import pytest

from pytest_llmbench.plugin.progress import Tally, choose_mode
from pytest_llmbench.sim import SimServer
from tests.conftest import write_suite
from tests.lifecycle.conftest import models_config

ARGS = ("arith.yaml", "--llmbench-models", "inproc:oracle,inproc:echo", "-p", "no:cacheprovider")
PLAIN = re.compile(r"^llmbench progress: (\d+)/20 \(\d+%\) ([\w ,()]+) \| [\d.]+ tok/s \| "
                   r"cost unknown \| ETA (\d:\d\d:\d\d|-)$")


@pytest.fixture
def suite(pytester: pytest.Pytester) -> None:
    write_suite(pytester.path)


@pytest.mark.parametrize("workers", ["0", "2"])
def test_plain_progress_counts_every_item(pytester: pytest.Pytester, suite: None,
                                          workers: str) -> None:
    result = pytester.runpytest_subprocess(*ARGS, "-n", workers, "--llmbench-progress", "plain",
                                           "--llmbench-progress-interval", "0")
    lines = [m for m in map(PLAIN.search, result.stdout.lines) if m]
    done = [int(m.group(1)) for m in lines]
    assert done == list(range(1, 21))  # every report, the last one with the summary
    assert (lines[-1].group(2), lines[-1].group(3)) == ("10 failed, 10 passed", "-")
    result.assert_outcomes(passed=10, failed=10)


def test_progress_with_cost_and_off(pytester: pytest.Pytester, sim: SimServer) -> None:
    write_suite(pytester.path, name="echo").write_text(
        "name: echo\ndataset: echo.jsonl\nprompt: '{question}'\nexpected: question\n")
    models_config(pytester.path, sim.base_url, "{input_per_mtok: 1000, output_per_mtok: 1000}")
    result = pytester.runpytest_subprocess("echo.yaml", "--llmbench-progress", "plain",
                                           "-p", "no:cacheprovider")
    result.stdout.re_match_lines([r"llmbench progress: 10/10 \(100%\) 10 passed \| .* \| "
                                  r"cost \$0\.0[1-9]\d\d \| ETA -"])
    off = pytester.runpytest_subprocess("echo.yaml", "--llmbench-progress", "off")
    assert "llmbench progress" not in off.stdout.str()


def test_rich_progress_runs_and_ends_with_the_total(pytester: pytest.Pytester,
                                                    suite: None) -> None:
    result = pytester.runpytest_subprocess(*ARGS, "--llmbench-progress", "rich")
    result.stdout.fnmatch_lines(["*llmbench summary*", "*llmbench progress: 20/20 (100%) "
                                 "10 failed, 10 passed | *"])
    result.assert_outcomes(passed=10, failed=10)


def test_auto_mode() -> None:
    assert choose_mode("auto", True, {}) == "rich"
    assert choose_mode("auto", True, {"CI": "true"}) == "plain"
    assert choose_mode("auto", False, {}) == "plain"
    assert choose_mode("off", True, {}) == "off"


def test_tally_eta_and_cost() -> None:
    tally = Tally(total=10, started=0.0)
    for _ in range(4):
        tally.count("passed")
        tally.add({"calls": 1, "output_tokens": 50, "latency_s": 2.0, "cost_usd": 0.01})
    # an answer from the cache took no generation time: it does not count toward tok/s
    tally.count("failed")
    tally.add({"calls": 1, "output_tokens": 50, "latency_s": 0.001, "cost_usd": 0.01,
               "cached_calls": 1})
    assert tally.eta_s(now=10.0) == pytest.approx(10.0)
    line = tally.line(now=10.0)
    assert "5/10 (50%) 1 failed, 4 passed" in line and "25.0 tok/s" in line
    assert "cost $0.0400" in line and "ETA 0:00:10" in line


def test_unknown_cost_is_never_zero() -> None:
    tally = Tally(total=3)
    tally.add({"calls": 1, "output_tokens": 5, "latency_s": 1.0, "cost_usd": None})
    assert "cost unknown" in tally.line() and "$0.0000" not in tally.line()
    tally.add({"calls": 1, "output_tokens": 5, "latency_s": 1.0, "cost_usd": 0.5})
    assert "cost $0.5000 + unknown" in tally.line()


def test_progress_line_fits_the_width() -> None:
    tally = Tally(total=123456, done=12345, started=0.0,
                  counts={"passed": 10000, "failed": 2000, "error": 300, "skipped": 45},
                  scored_wrong=1234, cost=123.4567, cost_unknown=True)
    tally.add({"calls": 1, "output_tokens": 5000, "latency_s": 1.0, "cost_usd": 0.1})
    for width in (100, 120):
        assert all(len(line) <= width for line in tally.line(now=99.0, width=width).split("\n"))
    small = Tally(total=2000, done=1000, counts={"passed": 900, "failed": 99, "error": 1},
                  scored_wrong=0, cost=12.5, cost_unknown=True, started=0.0)
    assert all(len(line) <= 80 for line in small.line(now=99.0, width=80).split("\n"))
    assert "2000 failed, 10000 passed (1234 wrong), 45 skipped, 300 errors" in \
        tally.line(now=99.0)


def test_exit_status_is_0_when_all_succeed_and_1_otherwise(pytester: pytest.Pytester,
                                                           suite: None) -> None:
    ok = pytester.runpytest_subprocess("arith.yaml", "--llmbench-models", "inproc:oracle")
    assert ok.ret == pytest.ExitCode.OK
    errors = pytester.runpytest_subprocess("arith.yaml", "--llmbench-models", "inproc:error",
                                           "--llmbench-max-retries", "0")
    assert errors.ret == pytest.ExitCode.TESTS_FAILED


def test_debug_log_of_every_process_without_secrets(pytester: pytest.Pytester,
                                                    sim: SimServer) -> None:
    write_suite(pytester.path, name="echo").write_text(
        "name: echo\ndataset: echo.jsonl\nprompt: '{question}'\nexpected: question\n")
    models_config(pytester.path, sim.base_url)
    result = pytester.runpytest_subprocess("echo.yaml", "--llmbench-debug", "--llmbench-cache",
                                           "readwrite", "-n", "2")
    result.assert_outcomes(passed=10)
    log = (pytester.path / ".llmbench/runs/latest/debug.log").read_text()
    assert re.search(r"\d\d:\d\d:\d\d \[DEBUG\] pytest_llmbench\S* \[gw\d\]: "
                     r"cache miss openai:echo [0-9a-f]{12}", log)
    assert log.count("cache miss") == 10
    assert "sk-test-secret" not in log + result.stdout.str() + result.stderr.str()
    pytester.runpytest_subprocess("echo.yaml")
    assert not (pytester.path / ".llmbench/runs/latest/debug.log").exists()


@pytest.mark.parametrize("extra", [(), ("-n", "2"), ("-v",)], ids=["dots", "xdist", "verbose"])
def test_plain_progress_only_between_pytest_lines(pytester: pytest.Pytester,
                                                  monkeypatch: pytest.MonkeyPatch,
                                                  extra: tuple[str, ...]) -> None:
    """A CI log (stdout is a pipe): every progress line is a line of its own, never in the
    middle of pytest's dots; its counts are pytest's, also with --llmbench-score-only."""
    monkeypatch.setenv("COLUMNS", "100")
    write_suite(pytester.path)
    write_suite(pytester.path, name="second")
    result = pytester.runpytest_subprocess(
        "arith.yaml", "second.yaml", "--llmbench-models", "inproc:oracle,inproc:echo",
        "--llmbench-score-only", "--llmbench-progress", "plain",
        "--llmbench-progress-interval", "0", "-p", "no:cacheprovider", *extra)
    result.assert_outcomes(passed=40)
    lines = result.stdout.lines
    progress = [line for line in lines if "llmbench progress" in line]
    assert len(progress) >= 20
    assert all(line.startswith("llmbench progress: ") for line in progress), progress
    dots = [line for line in lines if re.search(r"(yaml |^)[.FEsx]+ *(\[ *\d+%\])?$", line)
            or re.search(r" (PASSED|FAILED) +\[ *\d+%\]$", line)]
    assert dots and not any("llmbench" in line for line in dots)
    assert all(len(line) <= 100 for line in progress)
    assert progress[-1].startswith("llmbench progress: 40/40 (100%) 40 passed (20 scored "
                                   "wrong) | ")
    assert re.search(r"=+ 40 passed in ", lines[-1])
