"""Terminal-Bench task directories, loaded as tasks and graded the way its harness does.

A task directory holds ``task.yaml`` (``instruction``, ``max_agent_timeout_sec``,
``max_test_timeout_sec``, ``parser_name``, difficulty / category / tags), a
``Dockerfile`` (the environment, ``WORKDIR /app`` by convention), ``run-tests.sh`` and
``tests/``, and ``solution.sh`` (the reference solution). As in Terminal-Bench, the tests
and the run script are copied to ``/tests`` only after the agent stopped, the script
runs with ``TEST_DIR=/tests``, and the task is solved when pytest's per-test results
(its ``-rA`` summary) show every test passed. Here the check runs in a fresh container
over the agent's final work directory (Terminal-Bench reuses the agent's container).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from pytest_llmbench.agents.task import Limits, Task, TaskError, task_id

TEST_DIR = "/tests"


def load_tbench_task(folder: Path, defaults: dict[str, Any] | None = None) -> Task:
    source = folder / "task.yaml"
    try:
        data = yaml.safe_load(source.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise TaskError(f"{source}: not YAML: {str(exc).splitlines()[0]}") from None
    if not isinstance(data, dict):
        raise TaskError(f"{source}: expected a mapping")
    instruction = str(data.get("instruction") or "").strip()
    if not instruction:
        raise TaskError(f"{source}: no instruction")
    parser = data.get("parser_name", "pytest")
    if parser != "pytest":
        raise TaskError(f"{source}: parser_name {parser!r} is not supported (only pytest)")
    script = folder / "run-tests.sh"
    tests = folder / "tests"
    if not script.is_file() or not tests.is_dir():
        raise TaskError(f"{source}: no check (run-tests.sh and tests/ are required)")
    dockerfile = folder / "Dockerfile"
    if not dockerfile.is_file():
        raise TaskError(f"{source}: no Dockerfile beside it")
    defaults = defaults or {}
    limits = dict(defaults.get("limits") or {})
    if data.get("max_agent_timeout_sec"):
        limits["time_s"] = float(data["max_agent_timeout_sec"])
    solution = folder / "solution.sh"
    return Task(
        id=task_id(folder), path=folder, instruction=instruction,
        check=f"bash {TEST_DIR}/run-tests.sh", check_files=tests.resolve(), check_dest=TEST_DIR,
        check_timeout_s=float(data.get("max_test_timeout_sec", 120)),
        grading="pytest_all_passed", limits=Limits.merged(limits, where=str(source)),
        dockerfile=dockerfile.resolve(), workdir=str(data.get("workdir", "/app")),
        network=False, format="terminal-bench",
        solution=solution if solution.is_file() else None,
        metadata={k: data[k] for k in ("difficulty", "category", "tags", "author_email")
                  if k in data},
        extra={"check_scripts": {f"{TEST_DIR}/run-tests.sh": script.read_text(encoding="utf-8")},
               "check_env": {"TEST_DIR": TEST_DIR}})
