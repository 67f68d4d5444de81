"""Agent tasks: what a task folder holds and how a task suite file lists them.

A task folder (markdown style)::

    fix_typo/
      task.md         front matter (check, limits, image...) + the instruction (markdown)
      repo/           the starting files, copied to the sandbox's work directory
      tests/          files the check needs; copied in only after the agent stopped
      solution.yaml   optional: the tool calls the simulator's scripted agent makes

A Terminal-Bench task directory (``task.yaml``) is loaded by :mod:`agents.tbench`. A task
that cannot be loaded is kept as a ``BadTask`` so that its one item reports the reason
and the others run.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from pytest_llmbench.agents.perf_spec import PerfSpec, parse_perf
from pytest_llmbench.errors import LLMBenchError

TASK_FILE = "task.md"
_FRONT = re.compile(r"\A---\s*\n(.*?)\n---\s*(?:\n|\Z)", re.DOTALL)
_ID = re.compile(r"[^A-Za-z0-9_.-]+")
LIMIT_KEYS = ("turns", "tokens", "cost_usd", "time_s")
DEFAULT_LIMITS: dict[str, float | None] = {"turns": 30, "tokens": None, "cost_usd": None,
                                           "time_s": 600}


class TaskError(LLMBenchError):
    """A task folder that cannot be run (no instruction, no check, bad front matter)."""


@dataclass(frozen=True)
class Limits:
    """When the agent loop stops on its own: turns, tokens (in + out), dollars, seconds."""

    turns: int | None = 30
    tokens: int | None = None
    cost_usd: float | None = None
    time_s: float | None = 600.0

    @classmethod
    def merged(cls, *layers: dict[str, Any] | None, where: str = "") -> Limits:
        values: dict[str, Any] = dict(DEFAULT_LIMITS)
        for layer in layers:
            for key, value in (layer or {}).items():
                if key not in LIMIT_KEYS:
                    raise TaskError(f"{where}: unknown limit {key!r} (known: "
                                    f"{', '.join(LIMIT_KEYS)})")
                if value is not None and (isinstance(value, bool)
                                          or not isinstance(value, int | float) or value <= 0):
                    raise TaskError(f"{where}: limits.{key} must be a positive number")
                values[key] = value
        turns = values["turns"]
        return cls(turns=int(turns) if turns is not None else None,
                   tokens=int(values["tokens"]) if values["tokens"] is not None else None,
                   cost_usd=values["cost_usd"], time_s=values["time_s"])


@dataclass
class Task:
    """One task: the instruction, the starting files, the check and how to sandbox it."""

    id: str
    path: Path
    instruction: str
    check: str
    repo: Path | None = None
    git: dict[str, str] | None = None  # {"path": repo on disk, "commit": sha}
    check_files: Path | None = None  # copied to ``check_dest`` only for the check
    check_dest: str = "."
    check_timeout_s: float = 120.0
    check_output: str | None = None  # a regex the check's output must also match
    grading: str = "exit_status"  # or "pytest_all_passed" (Terminal-Bench), "swebench"
    limits: Limits = field(default_factory=Limits)
    image: str | None = None
    dockerfile: Path | None = None
    setup: list[str] = field(default_factory=list)
    network: bool = False
    workdir: str = "/workspace"
    sandbox: str | None = None  # docker / subprocess / auto (None: the suite's)
    solution: Path | None = None
    perf: PerfSpec | None = None  # an optimisation task: how its result is timed
    format: str = "markdown"
    metadata: dict[str, Any] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)  # format-specific (SWE-bench lists)


@dataclass(frozen=True)
class BadTask:
    """A listed task that could not be loaded: its item errors with ``reason``."""

    id: str
    path: Path
    reason: str


def task_id(path: Path) -> str:
    return _ID.sub("_", path.name).strip("_") or "task"


def load_markdown_task(folder: Path, defaults: dict[str, Any] | None = None) -> Task:
    """A task from ``folder/task.md``; ``TaskError`` naming the file when it is unusable."""
    source = folder / TASK_FILE
    if not source.is_file():
        raise TaskError(f"{folder}: no {TASK_FILE} (the instruction) in the task folder")
    text = source.read_text(encoding="utf-8")
    front: dict[str, Any] = {}
    match = _FRONT.match(text)
    if match:
        try:
            loaded = yaml.safe_load(match.group(1))
        except yaml.YAMLError as exc:
            raise TaskError(f"{source}: front matter is not YAML: "
                            f"{str(exc).splitlines()[0]}") from None
        if loaded is not None and not isinstance(loaded, dict):
            raise TaskError(f"{source}: front matter must be a mapping")
        front = loaded or {}
        text = text[match.end():]
    instruction = text.strip()
    if not instruction:
        raise TaskError(f"{source}: no instruction (the markdown body is empty)")
    defaults = defaults or {}
    check = front.get("check", defaults.get("check"))
    if not isinstance(check, str) or not check.strip():
        raise TaskError(f"{source}: no check (set `check:` to the command that decides "
                        "whether the task is solved)")
    repo = _folder(folder, front.get("repo", "repo"), source, required=False)
    git = front.get("git")
    if git is not None:
        if not isinstance(git, dict) or "path" not in git or "commit" not in git:
            raise TaskError(f"{source}: git must be {{path: <repo on disk>, commit: <sha>}}")
        git = {"path": str((folder / str(git["path"])).resolve()), "commit": str(git["commit"])}
    check_files = _folder(folder, front.get("check_files", "tests"), source,
                          required="check_files" in front)
    dockerfile = front.get("dockerfile")
    if dockerfile is not None:
        dockerfile = (folder / str(dockerfile)).resolve()
        if not dockerfile.is_file():
            raise TaskError(f"{source}: dockerfile {front['dockerfile']!r} not found")
    setup = front.get("setup") or []
    if isinstance(setup, str):
        setup = [setup]
    solution = folder / "solution.yaml"
    perf = None
    if front.get("perf") is not None:
        try:
            perf = parse_perf(front["perf"], folder)
        except ValueError as exc:
            raise TaskError(f"{source}: {exc}") from None
    known = {"check", "repo", "git", "check_files", "check_dest", "check_timeout_s",
             "check_output", "limits", "image", "dockerfile", "setup", "network", "workdir",
             "sandbox", "id", "perf"}
    return Task(
        id=str(front.get("id") or task_id(folder)), path=folder, instruction=instruction,
        check=check.strip(), repo=repo, git=git, check_files=check_files,
        check_dest=str(front.get("check_dest", check_files.name if check_files else ".")),
        check_timeout_s=float(front.get("check_timeout_s", defaults.get("check_timeout_s", 120))),
        check_output=front.get("check_output"),
        limits=Limits.merged(defaults.get("limits"), front.get("limits"), where=str(source)),
        image=front.get("image", defaults.get("image")), dockerfile=dockerfile,
        setup=[str(s) for s in setup], network=bool(front.get("network", False)),
        workdir=str(front.get("workdir", "/workspace")),
        sandbox=front.get("sandbox"), solution=solution if solution.is_file() else None,
        perf=perf,
        metadata={k: v for k, v in front.items() if k not in known})


def _folder(base: Path, name: Any, source: Path, required: bool) -> Path | None:
    path = (base / str(name)).resolve()
    if path.is_dir():
        return path
    if required:
        raise TaskError(f"{source}: folder {name!r} not found beside it")
    return None
