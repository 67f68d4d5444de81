"""What the agent changed (a diff of the final tree against the start) and the check.

The check is fail-closed: it runs after the agent stopped, in a fresh sandbox holding
the agent's final work tree, with the task's check files copied in only then (replacing
anything the agent put at that path), so nothing the agent left running and no test it
edited can decide the verdict. Solved = the check's exit status is 0 (and, when the task
sets ``check_output``, its output matches) - or, for Terminal-Bench and SWE-bench tasks,
their own harness's rule over the per-test results.
"""

from __future__ import annotations

import difflib
import re
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pytest_llmbench.agents.pytest_output import pytest_results
from pytest_llmbench.agents.sandbox import SandboxSpec
from pytest_llmbench.agents.swebench import grade as swebench_grade
from pytest_llmbench.agents.swebench import reset_test_files

IGNORED = {"__pycache__", ".pytest_cache", ".mypy_cache", ".git", ".ruff_cache"}
DIFF_LIMIT = 50_000
CHECK_OUTPUT_LIMIT = 20_000


@dataclass
class DiffStats:
    files_changed: int
    lines_added: int
    lines_removed: int
    diff: str

    def to_dict(self) -> dict[str, Any]:
        return {"files_changed": self.files_changed, "lines_added": self.lines_added,
                "lines_removed": self.lines_removed}


def _files(root: Path) -> dict[str, Path]:
    out: dict[str, Path] = {}
    if not root.is_dir():
        return out
    for path in root.rglob("*"):
        rel = path.relative_to(root)
        if set(rel.parts) & IGNORED or path.suffix == ".pyc" or not path.is_file():
            continue
        out[rel.as_posix()] = path
    return out


def _lines(path: Path | None) -> list[str] | None:
    """A text file's lines; None for a binary one."""
    if path is None:
        return []
    data = path.read_bytes()
    if b"\0" in data[:8192]:
        return None
    return data.decode("utf-8", "replace").splitlines(keepends=True)


def diff_trees(start: Path, final: Path) -> DiffStats:
    before, after = _files(start), _files(final)
    changed = added = removed = 0
    chunks: list[str] = []
    for name in sorted(set(before) | set(after)):
        a, b = before.get(name), after.get(name)
        if a is not None and b is not None and a.read_bytes() == b.read_bytes():
            continue
        changed += 1
        old, new = _lines(a), _lines(b)
        if old is None or new is None:
            chunks.append(f"Binary file {name} differs\n")
            continue
        for line in difflib.unified_diff(old, new, f"a/{name}" if a else "/dev/null",
                                         f"b/{name}" if b else "/dev/null"):
            if line.startswith("+") and not line.startswith("+++"):
                added += 1
            elif line.startswith("-") and not line.startswith("---"):
                removed += 1
            chunks.append(line if line.endswith("\n") else line + "\n\\ No newline at end of file\n")
    text = "".join(chunks)
    if len(text) > DIFF_LIMIT:
        text = text[:DIFF_LIMIT] + f"\n... [{len(text) - DIFF_LIMIT} characters cut]\n"
    return DiffStats(changed, added, removed, text)


@dataclass
class CheckResult:
    solved: bool
    exit_code: int | None
    output: str
    timed_out: bool
    duration_s: float
    reason: str
    tests: dict[str, str] | None = None

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"exit_code": self.exit_code, "output": self.output[-CHECK_OUTPUT_LIMIT:],
                "timed_out": self.timed_out, "duration_s": round(self.duration_s, 4),
                "reason": self.reason}
        if self.tests is not None:
            data["tests"] = self.tests
        return data


def run_check(task: Any, final_tree: Path, spec: SandboxSpec, box: Any = None) -> CheckResult:
    """The task's check in a fresh sandbox over ``final_tree`` (or in ``box``, an empty
    sandbox the caller owns: the harness's own trees only, never an agent's)."""
    if task.check_files is not None and not task.check_dest.startswith("/"):
        planted = (final_tree / task.check_dest).resolve()
        if planted.is_relative_to(final_tree.resolve()) and planted != final_tree.resolve():
            if planted.is_dir() and not planted.is_symlink():
                shutil.rmtree(planted)
            elif planted.exists() or planted.is_symlink():
                planted.unlink()
    if task.grading == "swebench":
        reset_test_files(task, final_tree)
    own = box is None
    if own:
        box = spec.open()
    try:
        box.put(final_tree)
        if task.check_files is not None:
            dest = task.check_dest
            box.put(task.check_files, dest if dest.startswith("/") else f"{box.workdir}/{dest}")
        for path, text in task.extra.get("check_scripts", {}).items():
            box.write_file(path, text.encode())
        env = " ".join(f"{k}='{v}'" for k, v in task.extra.get("check_env", {}).items())
        done = box.exec(f"{env + ' ' if env else ''}{task.check}", task.check_timeout_s,
                        output_chars=CHECK_OUTPUT_LIMIT)
    finally:
        if own:
            box.close()
    output = done.output
    if done.timed_out:
        return CheckResult(False, done.exit_code, output, True, done.duration_s,
                           f"the check did not end within {task.check_timeout_s:g}s")
    if task.grading == "pytest_all_passed":
        tests = pytest_results(output)
        bad = sorted(n for n, s in tests.items() if s in ("FAILED", "ERROR"))
        solved = bool(tests) and not bad
        reason = ("all tests passed" if solved else
                  "no test results in the check output" if not tests else
                  f"{len(bad)} of {len(tests)} tests failed: {', '.join(bad[:5])}")
        return CheckResult(solved, done.exit_code, output, False, done.duration_s, reason, tests)
    if task.grading == "swebench":
        solved, reason, tests = swebench_grade(task, output)
        return CheckResult(solved, done.exit_code, output, False, done.duration_s, reason, tests)
    solved = done.exit_code == 0
    reason = "the check passed" if solved else f"the check exited with {done.exit_code}"
    if solved and task.check_output and not re.search(task.check_output, output):
        solved, reason = False, f"the check's output does not match {task.check_output!r}"
    return CheckResult(solved, done.exit_code, output, False, done.duration_s, reason)


def copy_tree(source: Path, dest: Path) -> None:
    shutil.copytree(source, dest, dirs_exist_ok=True, symlinks=True)
