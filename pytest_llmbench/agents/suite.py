"""Task suite files: ``tasks:`` folders or globs (any format), ``swebench:`` JSONL files,
and the settings the tasks share."""

from __future__ import annotations

import glob
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from pytest_llmbench.agents.swebench import load_instances
from pytest_llmbench.agents.task import (
    TASK_FILE,
    BadTask,
    Limits,
    Task,
    TaskError,
    load_markdown_task,
    task_id,
)
from pytest_llmbench.agents.tbench import load_tbench_task
from pytest_llmbench.errors import SuiteError


def load_task(folder: Path, defaults: dict[str, Any] | None = None) -> Task | BadTask:
    """Whatever format the folder is in; a ``BadTask`` with the reason when it fails."""
    try:
        if (folder / "task.yaml").is_file() and not (folder / TASK_FILE).is_file():
            return load_tbench_task(folder, defaults)
        return load_markdown_task(folder, defaults)
    except TaskError as exc:
        return BadTask(task_id(folder), folder, str(exc))


@dataclass
class TaskSuite:
    """A suite file's tasks and the settings they share."""

    name: str
    path: Path
    tasks: list[Task | BadTask]
    agent: dict[str, Any] | None = None  # {"command": ...}: an external agent
    sandbox: str = "auto"
    description: str = ""
    samples: int | None = None


def is_task_suite(path: Path) -> bool:
    """A YAML file with a top-level ``tasks:`` key (checked on the text, not parsed)."""
    try:
        head = path.read_bytes()[:65536]
    except OSError:
        return False
    return re.search(rb"^tasks\s*:", head, re.MULTILINE) is not None


def load_task_suite(path: Path) -> TaskSuite:
    """The suite file: ``tasks:`` folders or globs (relative to the file), ``swebench:``
    JSONL files, shared ``limits`` / ``sandbox`` / ``agent``."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise SuiteError(path, f"not YAML: {str(exc).splitlines()[0]}") from None
    if not isinstance(data, dict):
        raise SuiteError(path, "a task suite must be a mapping with a `tasks:` list")
    listed = data.get("tasks") or []
    if isinstance(listed, str):
        listed = [listed]
    if not isinstance(listed, list):
        raise SuiteError(path, "`tasks:` must be a list of task folders or globs")
    sandbox = str(data.get("sandbox", "auto"))
    if sandbox not in ("auto", "docker", "subprocess"):
        raise SuiteError(path, f"sandbox: {sandbox!r} is not one of auto, docker, subprocess")
    agent = data.get("agent")
    if agent is not None and (not isinstance(agent, dict) or not agent.get("command")):
        raise SuiteError(path, "agent: must be {command: \"...\"} (an external agent)")
    defaults = {k: data[k] for k in ("limits", "image", "check_timeout_s") if k in data}
    try:
        Limits.merged(defaults.get("limits"), where=str(path))
    except TaskError as exc:
        raise SuiteError(path, str(exc).split(": ", 1)[-1]) from None
    tasks: list[Task | BadTask] = []
    for entry in listed:
        folders = _expand(path.parent, str(entry))
        if not folders:
            tasks.append(BadTask(task_id(Path(str(entry))), path.parent / str(entry),
                                 f"{path}: no task folder matches {entry!r}"))
        tasks.extend(load_task(folder, defaults) for folder in folders)
    for jsonl in data.get("swebench") or []:
        tasks.extend(load_instances(path.parent / str(jsonl), defaults))
    seen: set[str] = set()
    for task in tasks:
        if task.id in seen:
            raise SuiteError(path, f"two tasks share the id {task.id!r}")
        seen.add(task.id)
    return TaskSuite(name=str(data.get("name") or path.stem), path=path, tasks=tasks,
                     agent=agent, sandbox=sandbox, description=str(data.get("description", "")),
                     samples=data.get("samples"))


def _expand(base: Path, entry: str) -> list[Path]:
    if glob.has_magic(entry):
        return sorted(p for p in base.glob(entry) if p.is_dir())
    folder = base / entry
    return [folder] if folder.exists() else []
