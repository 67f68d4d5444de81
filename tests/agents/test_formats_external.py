"""SWE-bench-style instances and external agents, on small instances written here."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from pytest_llmbench.agents.external import external_runner
from pytest_llmbench.agents.runner import default_image, run_attempt, sandbox_spec
from pytest_llmbench.agents.solutions import post_solutions
from pytest_llmbench.agents.suite import load_task, load_task_suite
from pytest_llmbench.agents.task import BadTask, Task
from pytest_llmbench.agents.wire import make_tool_model
from pytest_llmbench.calls.retry import RetryPolicy

from .conftest import docker_or_skip, model_spec, write_task


def _git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True,
                          check=True).stdout


def _instance(tmp_path: Path) -> Path:
    """A repository with a bug, its test patch and gold patch, as one JSONL line."""
    repo = tmp_path / "calc"
    (repo / "tests").mkdir(parents=True)
    _git(tmp_path, "init", "-q", str(repo))
    _git(repo, "config", "user.email", "t@example.com")
    _git(repo, "config", "user.name", "t")
    (repo / "calc.py").write_text("def add(a, b):\n    return a + b\n\n\n"
                                  "def mul(a, b):\n    return a + b\n")
    (repo / "tests" / "test_calc.py").write_text(
        "from calc import add\n\n\ndef test_add():\n    assert add(2, 3) == 5\n")
    (repo / "conftest.py").write_text("")
    _git(repo, "add", "-A")
    _git(repo, "commit", "-qm", "base")
    base = _git(repo, "rev-parse", "HEAD").strip()
    (repo / "tests" / "test_calc.py").write_text(
        "from calc import add, mul\n\n\ndef test_add():\n    assert add(2, 3) == 5\n\n\n"
        "def test_mul():\n    assert mul(2, 3) == 6\n")
    test_patch = _git(repo, "diff")
    _git(repo, "checkout", "-q", "--", ".")
    (repo / "calc.py").write_text("def add(a, b):\n    return a + b\n\n\n"
                                  "def mul(a, b):\n    return a * b\n")
    gold = _git(repo, "diff")
    _git(repo, "checkout", "-q", "--", ".")
    rows = [{"instance_id": "calc__calc-1", "repo": "calc", "base_commit": base,
             "problem_statement": "[swe] mul(2, 3) returns 5; it must multiply.",
             "test_patch": test_patch, "patch": gold,
             "FAIL_TO_PASS": json.dumps(["tests/test_calc.py::test_mul"]),
             "PASS_TO_PASS": ["tests/test_calc.py::test_add"]},
            {"instance_id": "broken-1", "repo": "calc", "base_commit": base,
             "problem_statement": "x", "test_patch": test_patch, "FAIL_TO_PASS": []}]
    path = tmp_path / "instances.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    (tmp_path / "swe.yaml").write_text("name: swe\ntasks: []\nswebench: [instances.jsonl]\n")
    return tmp_path / "swe.yaml"


def test_swebench_instances_graded_like_the_harness(tmp_path: Path, sim_url: str,
                                                   request: pytest.FixtureRequest) -> None:
    docker_or_skip(request.config)  # pytest runs in the agent image
    suite = load_task_suite(_instance(tmp_path))
    task, broken = suite.tasks
    assert isinstance(broken, BadTask) and "FAIL_TO_PASS is empty" in broken.reason
    assert isinstance(task, Task) and task.grading == "swebench"
    post_solutions(sim_url, [task])
    spec = sandbox_spec(task, "docker", default_image)
    model = make_tool_model(model_spec("sim:default"), {"sim_url": sim_url}, RetryPolicy(), 30)
    solved = run_attempt(task, spec, model)
    assert solved.error is None and solved.solved, solved.check
    assert solved.check is not None and solved.check.tests == {
        "tests/test_calc.py::test_mul": "PASSED", "tests/test_calc.py::test_add": "PASSED"}
    assert solved.diff is not None and solved.diff.files_changed == 1
    flail = make_tool_model(model_spec("sim:flailer"), {"sim_url": sim_url}, RetryPolicy(), 30)
    task.limits = type(task.limits)(turns=2)
    failed = run_attempt(task, spec, flail)
    assert not failed.solved and failed.check is not None
    assert failed.check.tests == {"tests/test_calc.py::test_mul": "FAILED",
                                  "tests/test_calc.py::test_add": "PASSED"}
    assert failed.check.reason.startswith("not resolved: 1 of 2 tests did not pass")


def _external(tmp_path: Path, command: str, front: str = "") -> tuple[Task, object]:
    task = load_task(write_task(tmp_path / "ext", front=front))
    assert isinstance(task, Task)
    run = external_runner({"command": command}, model_spec("sim:default"), {}, RetryPolicy(), 30)
    return task, run


def test_external_agent_solves(tmp_path: Path) -> None:
    task, run = _external(tmp_path, 'grep -q "return 42" "$LLMBENCH_INSTRUCTION_FILE" && '
                                    "sed -i 's/return 41/return 42/' answer.py")
    attempt = run_attempt(task, sandbox_spec(task, "subprocess", lambda t: ""), None,
                          external=run)  # type: ignore[arg-type]
    assert attempt.error is None and attempt.solved, attempt.check
    assert attempt.loop is not None and attempt.loop.stop_reason == "exited"
    assert attempt.loop.turns is None  # its model calls are not visible here: absent
    assert attempt.diff is not None and attempt.diff.files_changed == 1  # no instruction file


def test_external_agent_that_hangs_and_floods(tmp_path: Path) -> None:
    task, run = _external(tmp_path, "yes flood & sleep 613", front="limits: {time_s: 2}\n")
    attempt = run_attempt(task, sandbox_spec(task, "subprocess", lambda t: ""), None,
                          external=run)  # type: ignore[arg-type]
    assert attempt.loop is not None and attempt.loop.stop_reason == "time"
    assert attempt.agent_output is not None and len(attempt.agent_output) < 30_000
    assert not attempt.solved and attempt.wall_s < 60
    left = subprocess.run(["pgrep", "-af", "sleep 613"], capture_output=True, text=True)
    assert [line for line in left.stdout.splitlines() if "pgrep" not in line] == []
