"""SWE-bench-style instances from a JSONL file, graded the way its harness grades.

Each line: ``instance_id``, ``repo`` (a git repository on disk, relative to the JSONL
file), ``base_commit``, ``problem_statement`` (the instruction), ``test_patch``,
``FAIL_TO_PASS`` and ``PASS_TO_PASS`` (lists of pytest ids, or JSON strings of them, as
the dataset ships them), optionally ``patch`` (the gold patch: the simulator's scripted
agent applies it). As in SWE-bench's harness, after the agent stopped the files the test
patch touches are reset to the base commit, the test patch is applied, the tests run,
and the instance is resolved only when every FAIL_TO_PASS and PASS_TO_PASS test passed.
"""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path
from typing import Any

from pytest_llmbench.agents.pytest_output import pytest_results
from pytest_llmbench.agents.task import BadTask, Limits, Task, TaskError, task_id

PATCH_PATH = "/tmp/llmbench_test.patch"
_DIFF_FILE = re.compile(r"^diff --git a/(\S+) b/(\S+)$", re.MULTILINE)


def _tests(value: Any, where: str, key: str) -> list[str]:
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            raise TaskError(f"{where}: {key} is not a JSON list") from None
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise TaskError(f"{where}: {key} must be a list of test ids")
    return value


def instance_task(row: dict[str, Any], base: Path, where: str,
                  defaults: dict[str, Any]) -> Task:
    for key in ("instance_id", "repo", "base_commit", "problem_statement", "test_patch"):
        if not isinstance(row.get(key), str) or not row[key].strip():
            raise TaskError(f"{where}: {key} is missing")
    fail, passing = (_tests(row.get("FAIL_TO_PASS", []), where, "FAIL_TO_PASS"),
                     _tests(row.get("PASS_TO_PASS", []), where, "PASS_TO_PASS"))
    if not fail:
        raise TaskError(f"{where}: FAIL_TO_PASS is empty (nothing decides the instance)")
    repo = (base / row["repo"]).resolve()
    if not (repo / ".git").exists():
        raise TaskError(f"{where}: repo {row['repo']!r} is not a git repository on disk")
    files = sorted({t.split("::", 1)[0] for t in fail + passing})
    command = (f"patch -p1 --forward --batch < {PATCH_PATH} > /dev/null && python3 -m pytest "
               f"-rA -p no:cacheprovider {' '.join(files)}")
    return Task(
        id=task_id(Path(row["instance_id"])), path=repo, instruction=row["problem_statement"],
        check=command, git={"path": str(repo), "commit": row["base_commit"]},
        check_timeout_s=float(defaults.get("check_timeout_s", 300)), grading="swebench",
        limits=Limits.merged(defaults.get("limits"), where=where),
        image=defaults.get("image"), format="swebench",
        extra={"check_scripts": {PATCH_PATH: row["test_patch"]}, "fail_to_pass": fail,
               "pass_to_pass": passing, "gold_patch": row.get("patch"),
               "test_files": [m.group(2) for m in _DIFF_FILE.finditer(row["test_patch"])]})


def load_instances(path: Path, defaults: dict[str, Any]) -> list[Task | BadTask]:
    if not path.is_file():
        return [BadTask(task_id(path), path, f"{path}: SWE-bench JSONL file not found")]
    tasks: list[Task | BadTask] = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        where = f"{path}:{number}"
        try:
            row = json.loads(line)
            if not isinstance(row, dict):
                raise TaskError(f"{where}: expected a JSON object")
            tasks.append(instance_task(row, path.parent, where, defaults))
        except (ValueError, TaskError) as exc:
            name = row.get("instance_id") if isinstance(locals().get("row"), dict) else None
            tasks.append(BadTask(task_id(Path(str(name or f"line{number}"))), path,
                                 str(exc) if isinstance(exc, TaskError) else
                                 f"{where}: not JSON: {exc}"))
    return tasks


def reset_test_files(task: Task, final_tree: Path) -> None:
    """The files the test patch touches, back to the base commit (or removed when the
    patch creates them), so the agent's edits to them cannot decide the verdict."""
    assert task.git is not None
    for name in task.extra.get("test_files", []):
        target = (final_tree / name).resolve()
        if not target.is_relative_to(final_tree.resolve()):
            continue
        shown = subprocess.run(["git", "-C", task.git["path"], "show",
                                f"{task.git['commit']}:{name}"], capture_output=True, check=False)
        if shown.returncode == 0:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(shown.stdout)
        elif target.exists():
            target.unlink()


def grade(task: Task, output: str) -> tuple[bool, str, dict[str, str]]:
    results = pytest_results(output)
    wanted = task.extra["fail_to_pass"] + task.extra["pass_to_pass"]
    bad = [t for t in wanted if results.get(t) != "PASSED"]
    tests = {t: results.get(t, "MISSING") for t in wanted}
    if not bad:
        return True, f"resolved: {len(task.extra['fail_to_pass'])} FAIL_TO_PASS and " \
                     f"{len(task.extra['pass_to_pass'])} PASS_TO_PASS tests passed", tests
    return False, f"not resolved: {len(bad)} of {len(wanted)} tests did not pass " \
                  f"({', '.join(bad[:3])})", tests
