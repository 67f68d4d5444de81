"""The Docker sandbox: the program runs in a throw-away container.

``--network none``, a read-only root with a private tmpfs working directory,
``--memory`` (no swap), ``--pids-limit``, ``--cpus``, an unprivileged user,
``--cap-drop ALL`` and ``no-new-privileges``, private pid and IPC namespaces; the
host's files are simply not there and nothing is mounted from it. The harness is the
container's pid 1, so every process the program started dies with it, and the
container is removed (``docker rm -f``) when the run ends, however it ended. Driven
through the ``docker`` CLI: it streams the program on stdin and can be killed on
timeout, and it ships with every Docker engine.
"""

from __future__ import annotations

import functools
import json
import shutil
import subprocess
import tempfile
import uuid
from pathlib import Path

from filelock import FileLock

from pytest_llmbench.scoring.sandbox import harness
from pytest_llmbench.scoring.sandbox.base import (
    Limits,
    SandboxResult,
    SandboxUnavailable,
    run_bounded,
)
from pytest_llmbench.scoring.sandbox.image import DEFAULT_IMAGE, build_image

_START_GRACE_S = 2.0  # container start-up is not the program's time
_GUEST = (Path(__file__).parent / "guest.py").read_text(encoding="utf-8")


@functools.cache
def docker_status() -> str | None:
    """None when a Docker engine answers, else why not (one line)."""
    if shutil.which("docker") is None:
        return "no docker command on PATH"
    try:
        done = subprocess.run(["docker", "version", "--format", "{{.Server.Version}}"],
                              capture_output=True, text=True, timeout=15)
    except (OSError, subprocess.SubprocessError) as exc:
        return f"docker version failed: {exc}"
    if done.returncode != 0:
        lines = (done.stderr or done.stdout).strip().splitlines()
        return f"no Docker engine: {lines[-1] if lines else 'docker version failed'}"
    return None


def _image_exists(image: str) -> bool:
    return subprocess.run(["docker", "image", "inspect", image], capture_output=True,
                          check=False).returncode == 0


@functools.cache
def ensure_image(image: str) -> str:
    """The image, built from the host Python first if it is the default and missing
    (under a file lock, so xdist workers build it once)."""
    if _image_exists(image):
        return image
    if image != DEFAULT_IMAGE:
        raise SandboxUnavailable(f"docker image {image!r} not found (build or pull it first)")
    lock = Path(tempfile.gettempdir()) / "llmbench-sandbox-image.lock"
    with FileLock(str(lock)):
        if not _image_exists(image):
            build_image(image)
    return image


class DockerSandbox:
    name = "docker"

    def __init__(self, image: str | None = None) -> None:
        self.image = image or DEFAULT_IMAGE

    def run(self, program: str, limits: Limits, *, checks: str = "", bench: str | None = None,
            repeat: int = 1) -> SandboxResult:
        why = docker_status()
        if why is not None:
            raise SandboxUnavailable(why)
        image = ensure_image(self.image)
        name = f"llmbench-sandbox-{uuid.uuid4().hex}"
        run = harness.prepare(program, checks, bench, repeat)
        memory = f"{limits.memory_mb}m"
        settings = {"guard": False, "cpu_s": int(limits.timeout_s) + 1,
                    "file_size_mb": limits.file_size_mb}
        cmd = ["docker", "run", "-i", "--name", name, "--network", "none", "--read-only",
               "--tmpfs", f"/sandbox:rw,exec,nosuid,size={max(limits.file_size_mb * 4, 16)}m,"
               "mode=1777",
               "--workdir", "/sandbox", "--env", "HOME=/sandbox", "--env", "TMPDIR=/sandbox",
               "--memory", memory, "--memory-swap", memory,
               "--pids-limit", str(limits.processes), "--cpus", f"{limits.cpus:g}",
               "--user", "65534:65534", "--cap-drop", "ALL",
               "--security-opt", "no-new-privileges", "--log-driver", "none",
               "--ipc", "private",
               image, "python3", "-I", "-B", "-c", _GUEST, json.dumps(settings)]
        try:
            ended = run_bounded(
                cmd, run.stdin, limits.timeout_s + _START_GRACE_S, limits.output_chars,
                on_timeout=lambda _: _kill(name), marker=run.marker)
            state = _inspect(name)
        finally:
            subprocess.run(["docker", "rm", "-f", name], capture_output=True, check=False)
        if state.get("Error"):
            raise SandboxUnavailable(f"docker run failed: {state['Error']}")
        if ended.exit_code == 125 and not state:
            raise SandboxUnavailable("docker run failed: "
                                     f"{ended.stderr.strip().splitlines()[-1:]}")
        exit_code = state.get("ExitCode", ended.exit_code)
        exit_code = exit_code if isinstance(exit_code, int) else ended.exit_code
        duration = _run_seconds(state) or ended.seconds
        timed_out = ended.timed_out or duration > limits.timeout_s
        notes = {"image": image, "network": "none", "root": "read-only", "user": "65534",
                 "memory": memory, "pids": limits.processes,
                 "processes": "own pid namespace, harness is pid 1; container removed after "
                              "the run"}
        return harness.result(ended, run, backend=self.name, expect_checks=bool(checks),
                              notes=notes, oom_killed=bool(state.get("OOMKilled")),
                              exit_code=exit_code, timed_out=timed_out, seconds=duration)


def _kill(name: str) -> None:
    subprocess.run(["docker", "kill", name], capture_output=True, check=False, timeout=30)


def _inspect(name: str) -> dict[str, object]:
    done = subprocess.run(["docker", "inspect", "--format", "{{json .State}}", name],
                          capture_output=True, text=True, check=False)
    try:
        return dict(json.loads(done.stdout)) if done.returncode == 0 else {}
    except ValueError:
        return {}


def _run_seconds(state: dict[str, object]) -> float | None:
    """Container run time from its own start/finish stamps (excludes docker's start-up)."""
    from datetime import datetime

    try:
        started = datetime.fromisoformat(str(state["StartedAt"])[:26].rstrip("Z"))
        finished = datetime.fromisoformat(str(state["FinishedAt"])[:26].rstrip("Z"))
    except (KeyError, ValueError):
        return None
    seconds = (finished - started).total_seconds()
    return seconds if seconds >= 0 else None
