"""Optimisation tasks, the plain parts: the ``perf:`` front matter, the timer's report
read strictly, the benchmark files put back, speedup@k / opt@k over attempts."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pytest_llmbench.agents.perf import (
    UNSOLVED,
    PerfTimer,
    parse_timing,
    restore,
    speedup_score,
    time_trees,
)
from pytest_llmbench.agents.perf_spec import PerfSpec
from pytest_llmbench.agents.sandbox import SandboxSpec
from pytest_llmbench.agents.suite import load_task
from pytest_llmbench.agents.task import BadTask, Task

from .conftest import write_task

PERF = PerfSpec(command="python3 bench.py", repeat=3, output=r"^done\s*$")


def _report(nonce: str, runs: list[dict]) -> str:
    return f"noise\nLLMBENCH-PERF {nonce} {json.dumps(runs)}\n"


def _run(seconds: float = 0.2, code: int = 0, output: str = "done\n") -> dict:
    return {"seconds": seconds, "exit_code": code, "timed_out": False, "output": output}


def test_perf_front_matter(tmp_path: Path) -> None:
    folder = write_task(tmp_path / "t", front="perf: {command: python3 bench.py, repeat: 4, "
                        "baseline: 2.5, min_speedup: 1.5}\n")
    (folder / "reference.patch").write_text("")
    task = load_task(folder)
    assert isinstance(task, Task) and task.perf is not None
    assert task.perf.repeat == 4 and task.perf.baseline_s == 2.5
    assert task.perf.min_speedup == 1.5 and task.perf.reference == folder / "reference.patch"
    assert "perf" not in task.metadata


@pytest.mark.parametrize(("perf", "reason"), [
    ("{repeat: 3}", "perf.command (the command to time) is required"),
    ("{command: x, repeat: 0}", "perf.repeat must be a whole number from 1 to 1000"),
    ("{command: x, baseline: fast}", "perf.baseline (seconds, or `measure`) must be a positive"),
    ("{command: x, runs: 3}", "unknown perf key 'runs'"),
    ("{command: x, files: [/etc/passwd]}", "perf.files must be a list of paths relative"),
    ("{command: x, output: '('}", "perf.output is not a regular expression"),
])
def test_bad_perf_is_one_line_naming_the_file(tmp_path: Path, perf: str, reason: str) -> None:
    folder = write_task(tmp_path / "bad", front=f"perf: {perf}\n")
    task = load_task(folder)
    assert isinstance(task, BadTask)
    assert reason in task.reason and str(folder / "task.md") in task.reason


def test_timer_report_is_read_strictly() -> None:
    good = parse_timing(_report("n1", [_run(0.3), _run(0.1), _run(0.2)]), "n1", PERF)
    assert good.seconds == 0.2 and good.runs == [0.3, 0.1, 0.2] and good.reason == "measured"
    cases = {
        "no timing report from the timer": "LLMBENCH-PERF other-nonce []\n",
        "2 timing reports (a forged one)": _report("n1", [_run()] * 3) * 2,
        "the timing report does not parse": "LLMBENCH-PERF n1 {not json\n",
        "run 2 of `python3 bench.py` exited with 1: Boom": _report(
            "n1", [_run(), _run(code=1, output="Traceback\nBoom\n")]),
        "run 1 has no valid time (0.0)": _report("n1", [_run(0.0)] * 3),
        "run 3's output does not match": _report("n1", [_run(), _run(), _run(output="x")]),
        "2 of 3 runs reported": _report("n1", [_run(), _run()]),
        "run 1 did not end within 60s": _report(
            "n1", [{**_run(), "timed_out": True, "exit_code": None}]),
    }
    for reason, output in cases.items():
        timing = parse_timing(output, "n1", PERF)
        assert timing.seconds is None and reason in timing.reason, (reason, timing.reason)


def test_benchmark_files_put_back(tmp_path: Path) -> None:
    pristine, tree = tmp_path / "start", tmp_path / "final"
    for root in (pristine, tree):
        root.mkdir()
    (pristine / "bench.py").write_text("real benchmark\n")
    (pristine / "data").mkdir()
    (pristine / "data" / "input.txt").write_text("input\n")
    (tree / "bench.py").symlink_to("/etc/hostname")  # the agent swapped it for a link
    (tree / "data").write_text("a file where the folder was\n")
    assert restore(PERF, pristine, tree) == ["bench.py"]  # default: the command's files
    assert not (tree / "bench.py").is_symlink()
    assert (tree / "bench.py").read_text() == "real benchmark\n"
    spec = PerfSpec(command="sh run.sh", files=("bench.py", "data/input.txt"))
    assert restore(spec, pristine, tree) == ["bench.py", "data/input.txt"]
    assert (tree / "data" / "input.txt").read_text() == "input\n"


def test_speedup_over_attempts_as_code_suites() -> None:
    single = speedup_score([(True, {"speedup": 3.0})], 1.1)
    assert single == {"speedup": 3.0}
    assert speedup_score([(False, {"speedup": None, "reason": UNSOLVED})], 1.1) == \
        {"speedup": None}
    two = speedup_score([(False, {"speedup": None}), (True, {"speedup": 3.0})], 1.1)
    assert two["speedup"] == 3.0 and two["speedup_best"] == 3.0
    assert two["speedup_at"] == {"1": 1.5, "2": 3.0}
    assert two["opt_at"] == {"1": 0.5, "2": 1.0} and two["min_speedup"] == 1.1
    slow = speedup_score([(True, {"speedup": 1.05}), (True, {"speedup": 1.2})], 1.1)
    assert slow["opt_at"] == {"1": 0.5, "2": 1.0}  # only 1.2x counts as optimised
    none = speedup_score([(False, {}), (False, {})], 1.1)
    assert none["speedup_at"] == {"1": 0.0, "2": 0.0} and none["opt_at"] == {"1": 0.0, "2": 0.0}
    untimed = speedup_score([(True, {"speedup": None}), (True, {"speedup": 2.0})], 1.1)
    assert untimed == {"speedup": None}  # a failed timing is absent, never 0


SLEEPY = "import time\ntime.sleep(0.3)\nprint('done')\n"


def test_timer_in_subprocess_sandbox(tmp_path: Path) -> None:
    """The timer measures the command from outside: a command printing a fake report
    line or exiting early cannot change its own time."""
    tree = tmp_path / "tree"
    tree.mkdir()
    (tree / "bench.py").write_text(
        "import os, time\ntime.sleep(0.3)\n"
        "print('LLMBENCH-PERF forged [{\"seconds\": 1e-9}]')\nprint('done')\n")
    perf = PerfSpec(command="python3 bench.py", repeat=2, output="done")
    [timing] = time_trees(perf, [tree], SandboxSpec("subprocess"))
    assert timing.seconds is not None and timing.seconds >= 0.3, timing
    (tree / "bench.py").write_text("import sys\nsys.exit(3)\n")
    [failed] = time_trees(perf, [tree], SandboxSpec("subprocess"))
    assert failed.seconds is None and "exited with 3" in failed.reason


def test_human_reference_checked_and_timed(tmp_path: Path) -> None:
    folder = write_task(tmp_path / "t", check="python3 check.py", tests={},
                        files={"bench.py": SLEEPY, "check.py": "import bench\n"},
                        front="perf: {command: python3 bench.py, repeat: 2}\n")
    (folder / "solution").mkdir()
    (folder / "solution" / "bench.py").write_text("print('done')\n")  # put back: no effect
    task = load_task(folder)
    assert isinstance(task, Task)
    timer = PerfTimer(task, SandboxSpec("subprocess"))
    figures = timer.measure(folder / "repo", folder / "repo", solved=True)
    assert figures["baseline_s"] >= 0.3 and figures["human_s"] >= 0.3
    assert figures["agent_s"] >= 0.3 and figures["reason"] == "measured"
    assert figures["human_speedup"] is not None and figures["speedup"] is not None
    assert timer.measure(folder / "repo", folder / "repo", solved=False)["speedup"] is None


@pytest.mark.parametrize(("reference", "reason"), [
    ("solution", "the reference solution fails the check: the check exited with 1"),
    ("reference.patch", "reference.patch does not apply"),
])
def test_a_bad_human_reference_has_no_figure(tmp_path: Path, reference: str,
                                             reason: str) -> None:
    folder = write_task(tmp_path / "t", check="python3 check.py", tests={},
                        files={"bench.py": "print('done')\n", "check.py": "import work\n",
                               "work.py": "pass\n"},
                        front="perf: {command: python3 bench.py, repeat: 1}\n")
    if reference == "solution":
        (folder / "solution").mkdir()
        (folder / "solution" / "work.py").write_text("raise SystemExit(1)\n")
    else:
        (folder / "reference.patch").write_text(
            "--- a/missing.py\n+++ b/missing.py\n@@ -1 +1 @@\n-old\n+new\n")
    task = load_task(folder)
    assert isinstance(task, Task)
    figures = PerfTimer(task, SandboxSpec("subprocess")).measure(
        folder / "repo", folder / "repo", solved=True)
    assert figures["human_s"] is None and figures["human_speedup"] is None
    assert reason in figures["human_reason"]
    assert figures["baseline_s"] > 0 and figures["speedup"] is not None


def test_output_baseline_refuses_an_answer_cached_for_the_benchmark(tmp_path: Path) -> None:
    """``output: baseline`` with the random seed: a result that is right only for the
    input the agent saw is not timed as a speedup."""
    bench = ("import os\nfrom work import f\n"
             "print(f(int(os.environ.get('LLMBENCH_PERF_SEED', '21'))))\n")
    folder = write_task(tmp_path / "t", check="exit 0", tests={},
                        files={"bench.py": bench, "work.py": "def f(x):\n    return x * 2\n"},
                        front="perf: {command: python3 bench.py, repeat: 1, output: baseline}\n")
    task = load_task(folder)
    assert isinstance(task, Task)
    timer = PerfTimer(task, SandboxSpec("subprocess"))
    cached, honest = tmp_path / "cached", tmp_path / "honest"
    for tree, body in ((cached, "def f(x):\n    return 42\n"),
                       (honest, "def f(x):\n    return x + x\n")):
        tree.mkdir()
        (tree / "bench.py").write_text(bench)
        (tree / "work.py").write_text(body)
    refused = timer.measure(folder / "repo", cached, solved=True)
    assert refused["speedup"] is None and refused["agent_s"] is None
    assert "run 1's output differs from the baseline's" in refused["reason"]
    assert timer.measure(folder / "repo", honest, solved=True)["speedup"] is not None


def test_output_baseline_needs_a_measured_baseline(tmp_path: Path) -> None:
    folder = write_task(tmp_path / "t", front="perf: {command: x, baseline: 1, "
                        "output: baseline}\n")
    task = load_task(folder)
    assert isinstance(task, BadTask) and "needs the baseline measured" in task.reason
