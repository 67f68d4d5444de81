"""Feeding the simulator's scripted agent: each task's ``solution.yaml`` with its
instruction, posted to ``/llmbench/agent-solutions`` (see ``sim/agent_api.py``)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import httpx
import yaml

from pytest_llmbench.agents.task import Task


def solution_entries(tasks: Iterable[Any]) -> list[dict[str, Any]]:
    entries = []
    for task in tasks:
        if not isinstance(task, Task):
            continue
        gold = task.extra.get("gold_patch")
        if gold:  # a SWE-bench instance: apply the gold patch
            command = f"patch -p1 --batch <<'LLMBENCH_EOF'\n{gold}\nLLMBENCH_EOF"
            entries.append({"instruction": task.instruction, "steps": [
                {"tool": "run_command", "args": {"command": command}}]})
            continue
        if task.solution is None:
            continue
        text = task.solution.read_text(encoding="utf-8")
        if task.solution.suffix == ".sh":  # Terminal-Bench's reference solution: one command
            entries.append({"instruction": task.instruction, "steps": [
                {"tool": "run_command", "args": {"command": text}}]})
            continue
        steps = yaml.safe_load(text) or []
        if isinstance(steps, list):
            entries.append({"instruction": task.instruction, "steps": steps})
    return entries


def post_solutions(url: str, tasks: Iterable[Any]) -> int:
    entries = solution_entries(tasks)
    if entries:
        httpx.post(f"{url.rstrip('/')}/llmbench/agent-solutions", json=entries,
                   timeout=30).raise_for_status()
    return len(entries)
