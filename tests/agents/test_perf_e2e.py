"""Optimisation tasks run by pytest against the simulator's scripted agents: a real
speedup is measured, an edited benchmark fakes nothing, an unsolved task has no speedup,
and over several attempts speedup@k and opt@k reach the summaries and report.html."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pytest_llmbench.agents.perf import UNSOLVED
from tests.conftest import read_records, read_summary

from .conftest import docker_or_skip, write_task

SLOW = "import time\n\n\ndef work():\n    time.sleep(0.4)\n    return 42\n"
BENCH = "from slow import work\n\nprint('answer', work())\n"
TEST = """import sys
import unittest
from pathlib import Path
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from slow import work


class WorkTest(unittest.TestCase):
    def test_work(self):
        self.assertEqual(work(), 42)
"""
PERF = "perf: {command: python3 bench.py, repeat: 2, output: '^answer 42'}\n"
SPEED_UP = """- tool: edit_file
  args: {path: slow.py, old: "    time.sleep(0.4)\\n", new: ""}
"""
FAKE = """- tool: write_file
  args: {path: bench.py, content: "print('answer', 42)\\n"}
"""


def _tasks(root: Path, sandbox: str, names: tuple[str, ...]) -> None:
    tasks = {
        "fast": ("[perf-fast] Make `work()` in slow.py fast; bench.py times it.", SLOW,
                 SPEED_UP),
        "cheat": ("[perf-cheat] Make `work()` in slow.py fast; bench.py times it.", SLOW,
                  FAKE),
        "unsolved": ("[perf-unsolved] Make `work()` return 42, fast.",
                     SLOW.replace("42", "41"), None),
    }
    for name in names:
        instruction, slow, solution = tasks[name]
        write_task(root / "tasks" / name, instruction=instruction, front=PERF,
                   files={"slow.py": slow, "bench.py": BENCH}, tests={"test_slow.py": TEST},
                   solution=solution)
    (root / "perf.yaml").write_text(f"name: perf\ntasks: [tasks/*]\nsandbox: {sandbox}\n")


def test_speedup_measured_fake_refused_unsolved_absent(pytester: pytest.Pytester,
                                                        request: pytest.FixtureRequest) -> None:
    docker_or_skip(request.config)
    _tasks(pytester.path, "docker", ("fast", "cheat", "unsolved"))
    result = pytester.runpytest_subprocess("perf.yaml", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=2, failed=1)
    by_case = {r["case_id"]: r for r in read_records(pytester)}

    fast = by_case["fast"]
    perf = fast["metrics"]["perf"]
    assert fast["outcome"] == "passed" and perf["reason"] == "measured"
    assert perf["baseline_s"] >= 0.4 and len(perf["baseline_runs"]) == 2
    assert perf["agent_s"] < perf["baseline_s"] and perf["speedup"] > 1
    assert fast["score_details"]["speedup"] == perf["speedup"]

    cheat = by_case["cheat"]  # bench.py rewritten to print the answer: put back first
    perf = cheat["metrics"]["perf"]
    assert cheat["outcome"] == "passed" and "b/bench.py" in cheat["metrics"]["diff"]
    assert perf["agent_s"] >= 0.4 and perf["speedup"] < 2

    unsolved = by_case["unsolved"]
    assert unsolved["outcome"] == "failed"
    assert unsolved["metrics"]["perf"]["speedup"] is None
    assert unsolved["metrics"]["perf"]["reason"] == UNSOLVED
    assert unsolved["score_details"]["speedup"] is None

    [row] = read_summary(pytester)
    expected = (fast["metrics"]["perf"]["speedup"] + cheat["metrics"]["perf"]["speedup"]) / 3
    assert row["speedup_at_1"] == pytest.approx(expected)  # the unsolved task counts 0
    run_dir = pytester.path / ".llmbench" / "runs" / "latest"
    agents = json.loads((run_dir / "agents_summary.json").read_text())
    [agent_row] = agents["rows"]
    assert agent_row["timed_tasks"] == 3
    assert agent_row["speedup_at_1"] == pytest.approx(expected)
    assert agent_row["median_speedup_solved"] > 0
    assert any(r["ranking"] == "speedup" and r["order"] for r in agents["rankings"]["perf"])
    html = (run_dir / "report.html").read_text()
    assert "speedup@1" in html and "timing <code>python3 bench.py</code>" in html
    result.stdout.fnmatch_lines(["*speedup@1*"])


def test_opt_at_k_over_attempts(pytester: pytest.Pytester) -> None:
    _tasks(pytester.path, "subprocess", ("fast", "unsolved"))
    result = pytester.runpytest_subprocess("perf.yaml", "--llmbench-samples", "2",
                                           "-p", "no:cacheprovider")
    result.assert_outcomes(passed=1, failed=1)
    by_case = {r["case_id"]: r for r in read_records(pytester)}
    fast = by_case["fast"]["score_details"]
    assert fast["opt_at"] == {"1": 1.0, "2": 1.0} and fast["min_speedup"] == 1.1
    assert fast["speedup_at"]["2"] >= fast["speedup_at"]["1"] > 1
    assert [a["speedup"] > 1 for a in by_case["fast"]["metrics"]["attempts"]] == [True, True]
    unsolved = by_case["unsolved"]["score_details"]
    assert unsolved["opt_at"] == {"1": 0.0, "2": 0.0}
    [row] = read_summary(pytester)
    assert row["opt_at_2"] == 0.5 and row["opt_at_1"] == 0.5
    run_dir = pytester.path / ".llmbench" / "runs" / "latest"
    [agent_row] = json.loads((run_dir / "agents_summary.json").read_text())["rows"]
    assert agent_row["opt_at_2"] == 0.5 and agent_row["pass@2"] == 0.5
    assert "opt@2" in (run_dir / "report.html").read_text()
