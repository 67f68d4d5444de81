"""One attempt at one task: sandbox up, agent, export, check, everything torn down.

Plain Python (the pytest glue calls :func:`run_attempt` and turns its result into a
record). Each attempt has its own sandbox; the check has another, fresh one.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pytest_llmbench.agents.grade import CheckResult, DiffStats, diff_trees, run_check
from pytest_llmbench.agents.loop import LoopResult, run_loop
from pytest_llmbench.agents.perf import PerfTimer
from pytest_llmbench.agents.sandbox import Resources, SandboxFault, SandboxSpec
from pytest_llmbench.agents.task import Task, TaskError
from pytest_llmbench.agents.wire import ToolModel
from pytest_llmbench.calls.budget import BudgetExhausted
from pytest_llmbench.errors import ProviderError

SETUP_TIMEOUT_S = 300.0


class NeedsDocker(TaskError):
    """A task with an image where ``auto`` found no Docker engine (skipped, not failed)."""


@dataclass
class Attempt:
    """What one attempt did; ``error`` set when it could not be judged."""

    solved: bool = False
    loop: LoopResult | None = None
    check: CheckResult | None = None
    diff: DiffStats | None = None
    error: ProviderError | SandboxFault | TaskError | BudgetExhausted | None = None
    sandbox: dict[str, Any] = field(default_factory=dict)
    start_s: float | None = None
    wall_s: float = 0.0
    agent_output: str | None = None  # an external agent's own output (tail)
    perf: dict[str, Any] | None = None  # an optimisation task's timings (agents.perf)


def sandbox_spec(task: Task, backend: str, image_for: Callable[[Task], str]) -> SandboxSpec:
    """Docker unless the suite or task asks for the subprocess sandbox (or ``auto``
    finds no engine); a task with an image or Dockerfile needs Docker."""
    wanted = task.sandbox or backend
    if wanted == "auto":
        from pytest_llmbench.scoring.sandbox.docker import docker_status  # noqa: PLC0415

        why = docker_status()
        if why is not None and (task.image or task.dockerfile):
            raise NeedsDocker(f"{task.path}: the task needs Docker for its image ({why})")
        wanted = "docker" if why is None else "subprocess"
    if wanted == "subprocess":
        if task.image or task.dockerfile:
            raise TaskError(f"{task.path}: the task needs an image; the subprocess sandbox "
                            "has none (use the docker sandbox)")
        return SandboxSpec("subprocess", network=task.network)
    from pytest_llmbench.scoring.sandbox.docker import docker_status  # noqa: PLC0415

    why = docker_status()
    if why is not None:
        raise SandboxFault(f"the docker sandbox is unavailable: {why}")
    return SandboxSpec("docker", image=image_for(task), workdir=task.workdir,
                       network=task.network, resources=Resources(**_resources(task)))


def _resources(task: Task) -> dict[str, Any]:
    res = task.metadata.get("resources") or {}
    return {k: res[k] for k in ("cpus", "memory_mb", "pids") if k in res}


def default_image(task: Task) -> str:
    from pytest_llmbench.agents.image import (  # noqa: PLC0415
        AGENT_IMAGE,
        build_dockerfile,
        ensure_agent_image,
    )

    try:
        if task.dockerfile is not None:
            import hashlib  # noqa: PLC0415

            digest = hashlib.sha256(task.dockerfile.read_bytes() + AGENT_IMAGE.encode()
                                    ).hexdigest()[:12]
            return build_dockerfile(task.dockerfile, f"llmbench-task-{task.id.lower()}:{digest}")
        return task.image or ensure_agent_image(AGENT_IMAGE)
    except RuntimeError as exc:
        raise SandboxFault(str(exc)) from None


def starting_tree(task: Task, dest: Path) -> None:
    """The task's starting files: its ``repo/`` folder, or a git commit checked out."""
    dest.mkdir(parents=True, exist_ok=True)
    if task.git is not None:
        archive = subprocess.run(["git", "-C", task.git["path"], "archive", task.git["commit"]],
                                 capture_output=True, check=False)
        if archive.returncode != 0:
            raise TaskError(f"{task.path}: git archive {task.git['commit']} failed: "
                            f"{archive.stderr.decode(errors='replace').strip()[:200]}")
        subprocess.run(["tar", "-x", "-C", str(dest)], input=archive.stdout, check=True)
    elif task.repo is not None:
        shutil.copytree(task.repo, dest, dirs_exist_ok=True, symlinks=True)


def run_attempt(task: Task, spec: SandboxSpec, model: ToolModel | None,
                command_timeout_s: float = 60.0,
                external: Callable[[Any, Task], tuple[LoopResult, str]] | None = None,
                perf: PerfTimer | None = None) -> Attempt:
    """Run the agent (ours through ``model``, or ``external``) on ``task``, then check it
    (and with ``perf``, an optimisation task, time a solved result)."""
    started = time.perf_counter()
    attempt = Attempt()
    scratch = Path(tempfile.mkdtemp(prefix="llmbench-task-"))
    box = None
    try:
        start, final = scratch / "start", scratch / "final"
        baseline = scratch / "baseline"
        starting_tree(task, start)
        t0 = time.perf_counter()
        box = spec.open()
        attempt.start_s = time.perf_counter() - t0
        attempt.sandbox = dict(box.notes)
        box.put(start)
        for command in task.setup:
            done = box.exec(command, SETUP_TIMEOUT_S)
            if done.exit_code != 0:
                raise TaskError(f"{task.path}: setup command {command!r} failed "
                                f"(exit {done.exit_code}): {done.output.strip()[-200:]}")
        box.export(baseline)  # the agent's starting point: files + image + setup
        if external is not None:
            attempt.loop, attempt.agent_output = external(box, task)
        else:
            assert model is not None
            metadata = getattr(model, "metadata", None)
            if isinstance(metadata, dict):  # this sandbox's folder, the same in every key
                metadata["key_aliases"] = {box.workdir: "<sandbox workdir>"}
            attempt.loop = run_loop(model, box, task.instruction, task.limits,
                                    command_timeout_s)
        if attempt.loop.error is not None:
            attempt.error = attempt.loop.error
            return attempt
        try:
            box.export(final)
        except SandboxFault:
            raise
        finally:
            box.close()
        attempt.diff = diff_trees(baseline, final)
        if perf is not None:
            perf.restore(baseline, final)  # the agent's edits to the benchmark are undone
        attempt.check = run_check(task, final, spec)
        attempt.solved = attempt.check.solved
        if perf is not None:
            attempt.perf = perf.measure(baseline, final, attempt.solved)
    except (SandboxFault, TaskError) as exc:
        attempt.error = exc
    except OSError as exc:
        attempt.error = SandboxFault(f"{type(exc).__name__}: {exc}")
    finally:
        if box is not None:
            box.close()
        shutil.rmtree(scratch, ignore_errors=True)
        attempt.wall_s = time.perf_counter() - started
    return attempt
