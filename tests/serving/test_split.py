"""A serving point spread over several load processes (``processes: N``), end to end: real
child processes against the simulator, pooled into one record."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from pytest_llmbench.serving.load import arrivals, point_seed
from pytest_llmbench.serving.metrics import RequestSample, Window, summarize
from pytest_llmbench.serving.scenario import Point, load_serving_suite
from pytest_llmbench.serving.split import process_count
from tests.conftest import read_records

SUITE = """\
kind: serving
name: chat_load
prompts: {{input_tokens: "normal(32, 4)"}}
max_tokens: 16
ignore_eos: true
warmup: 2
requests: 16
harness: {{max_loop_lag_ms: 1000}}
{extra}
scenarios:
{scenarios}
"""
CLOSED = "  - concurrency: [4]"
POISSON = "  - rate: [40]\n    arrival: poisson"


def run_dir(pytester: pytest.Pytester) -> Path:
    return (pytester.path / ".llmbench" / "runs" / "latest").resolve()


def samples_of(pytester: pytest.Pytester, record: dict) -> list[RequestSample]:
    data = json.loads((run_dir(pytester) / record["metrics"]["samples_file"]).read_text())
    return [RequestSample.from_dict(s) for s in data["samples"]]


def test_two_processes_give_one_record_pooled_from_their_samples(
        pytester: pytest.Pytester, sim_env: str) -> None:
    pytester.makefile(".yaml", load=SUITE.format(extra="processes: 2", scenarios=CLOSED))
    result = pytester.runpytest_subprocess("load.yaml", "--llmbench-models", "sim:perf",
                                           "-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)
    (record,) = read_records(pytester)
    metrics = record["metrics"]
    children = metrics["harness"]["processes"]
    assert [c["process"] for c in children] == ["process 1/2", "process 2/2"]
    assert len({c["pid"] for c in children} | {os.getpid()}) == 3  # real processes
    assert metrics["harness"]["cpu_s"] == pytest.approx(sum(c["cpu_s"] for c in children))
    assert metrics["serving"]["requests"] == 16 == metrics["serving"]["completed"]
    samples = samples_of(pytester, record)
    pooled = summarize(Window(samples, metrics["serving"]["duration_s"]))
    for metric in ("ttft_ms", "itl_ms", "tpot_ms", "e2e_ms"):
        assert metrics["serving"][metric] == pytest.approx(pooled[metric])
    assert metrics["serving"]["request_throughput"] == pytest.approx(pooled["request_throughput"])
    assert metrics["serving"]["ttft_ms"]["p50"] >= 19  # the simulator's 20 ms TTFT


def test_poisson_split_sends_the_one_seeded_schedule(pytester: pytest.Pytester,
                                                     sim_env: str) -> None:
    """Processes take turns along one seeded arrival stream: the merged sends follow the
    schedule a single process draws (not N copies of one stream, as guidellm's workers)."""
    path = pytester.makefile(".yaml", load=SUITE.format(extra="", scenarios=POISSON))
    tokens = {}
    for processes in ("1", "2"):  # --llmbench-serving-processes overrides the suite
        result = pytester.runpytest_subprocess("load.yaml", "--llmbench-models", "sim:perf",
                                               "--llmbench-serving-processes", processes,
                                               "-p", "no:cacheprovider")
        result.assert_outcomes(passed=1)
        (record,) = read_records(pytester)
        assert len(record["metrics"]["harness"].get("processes", [None])) == int(processes)
        samples = samples_of(pytester, record)
        tokens[processes] = sorted(s.input_tokens for s in samples)
        suite = load_serving_suite(path)
        point = suite.points[0]
        schedule = list(arrivals(point, random.Random(point_seed(suite, "sim:perf", point) + 1)))
        sent = sorted(s.sent for s in samples)
        assert len(sent) == len(schedule) == 16
        assert max(abs(a - b) for a, b in zip(sent, schedule, strict=True)) < 0.05
    assert tokens["1"] == tokens["2"]  # the same prompts, shared out


SECRET = "sk-split-secret-4711"


def test_killed_child_is_an_error_that_keeps_the_other_processes_samples(
        pytester: pytest.Pytester, sim_env: str) -> None:
    """Also: the model's key (an OpenAI-compatible host) reaches no command line or file."""
    pytester.makefile(".yaml", load=SUITE.format(
        extra="processes: 2", scenarios="  - concurrency: [2]\n    duration: 4s\n"
                                         "    requests: 2000"))
    pytester.makefile(".yaml", llmbench=f"models:\n  vllm:perf:\n    base_url: {sim_env}/v1\n"
                                        f"    api_key: {SECRET}\n")
    proc = subprocess.Popen([sys.executable, "-m", "pytest", "load.yaml", "--llmbench-models",
                             "vllm:perf", "-p", "no:cacheprovider"], cwd=pytester.path,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    victim = None
    deadline = time.monotonic() + 30
    while victim is None and time.monotonic() < deadline:
        for child in psutil.Process(proc.pid).children(recursive=True):
            try:
                with_args = child.cmdline()
            except psutil.Error:  # a short-lived helper that already ended
                continue
            if "pytest_llmbench.serving.split_child" in with_args:
                assert with_args[-4:] == ["-m", "pytest_llmbench.serving.split_child",
                                          with_args[-2], "2"]  # nothing else on argv
                if with_args[-2] == "1":
                    victim = child
        time.sleep(0.05)
    assert victim is not None, "the second load process never started"
    time.sleep(2.0)  # well into the measured window
    victim.send_signal(signal.SIGKILL)
    out, _ = proc.communicate(timeout=60)
    assert proc.returncode == 1, out
    assert "SplitFailed: process 2/2 died (killed by SIGKILL); kept the" in out
    (record,) = read_records(pytester)
    assert record["outcome"] == "error" and record["error_kind"] == "harness"
    assert "\n" not in record["error"] and "measured by process 1/2" in record["error"]
    kept = record["metrics"]["serving"]["completed"]
    assert kept > 0 and f"kept the {kept} requests" in record["error"]
    assert len(samples_of(pytester, record)) == kept
    assert [c["process"] for c in record["metrics"]["harness"]["processes"]] == ["process 1/2"]
    assert SECRET not in out
    for path in run_dir(pytester).rglob("*"):
        assert not path.is_file() or SECRET not in path.read_text(errors="replace"), path


def test_child_that_fails_reports_why_in_one_line(pytester: pytest.Pytester,
                                                  sim_env: str) -> None:
    """A provider registered in a conftest lives in the pytest process only: the children
    cannot build it and say so."""
    pytester.makeconftest("""
        from pytest_llmbench.providers.base import get_factory, register_provider
        register_provider("mysim", get_factory("sim"))
    """)
    pytester.makefile(".yaml", load=SUITE.format(extra="processes: 2", scenarios=CLOSED))
    result = pytester.runpytest_subprocess("load.yaml", "--llmbench-models", "mysim:perf",
                                           "-p", "no:cacheprovider")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*SplitFailed: process 1/2 failed: ConfigError: unknown "
                                 "provider 'mysim'*nothing was measured*"])
    (record,) = read_records(pytester)
    assert record["outcome"] == "error" and "serving" not in record["metrics"]


@pytest.mark.parametrize(("value", "shown"), [("0", "0"), ("many", "'many'"), ("true", "True")])
def test_bad_processes_is_a_one_line_error_naming_the_file(
        pytester: pytest.Pytester, value: str, shown: str) -> None:
    pytester.makefile(".yaml", load=SUITE.format(extra=f"processes: {value}", scenarios=CLOSED))
    result = pytester.runpytest("load.yaml", "-p", "no:cacheprovider")
    result.stdout.fnmatch_lines([f"*load.yaml:9: processes must be an integer >= 1 or auto, "
                                 f"not {shown}*"])
    assert result.ret != 0


def test_bad_processes_option_names_the_option(pytester: pytest.Pytester) -> None:
    pytester.makefile(".yaml", load=SUITE.format(extra="", scenarios=CLOSED))
    result = pytester.runpytest("load.yaml", "--llmbench-models", "sim:perf",
                                "--llmbench-serving-processes", "0", "-p", "no:cacheprovider")
    result.stderr.fnmatch_lines(["ERROR: --llmbench-serving-processes: invalid value '0'*"])
    assert result.ret != 0


def test_auto_takes_a_process_per_64_streams_at_most_two_per_core() -> None:
    def count(requested: int | str, cores: int = 16, **point: float) -> int:
        return process_count(Point(id="p", **point), requested, 128, cores)  # type: ignore[arg-type]

    assert count("auto", concurrency=64) == 1
    assert count("auto", concurrency=256) == 4
    assert count("auto", cores=2, concurrency=256) == 4
    assert count("auto", cores=2, concurrency=1024) == 4  # two per core
    assert count("auto", rate=100) == 2  # 12,800 chunks/s of 128 tokens
    assert count(8, concurrency=3) == 3  # never more processes than streams
    assert count(4, rate=10, requests=2) == 2  # ... or requests
