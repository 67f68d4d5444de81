"""Where an agent works: a Docker container per attempt, or a private subprocess folder.

Both give the same small interface (``exec`` a shell command with a time limit and an
output cap, read and write files, export the work tree, close), so the tools and the
check are written once. The Docker sandbox runs as an unprivileged user with the network
off unless the task asks for it, CPU, memory and process limits, all capabilities
dropped and no credentials in its environment: the model is called from the harness.
``close`` removes the container and everything it started.
"""

from __future__ import annotations

import functools
import io
import os
import resource
import shlex
import shutil
import signal
import subprocess
import tarfile
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from pytest_llmbench.errors import LLMBenchError
from pytest_llmbench.scoring.sandbox.base import _Drain, clip

AGENT_UID = 65534
OUTPUT_CHARS = 10_000
LABEL = "llmbench.agent"


class SandboxFault(LLMBenchError):
    """The sandbox itself failed (the container died, docker errored): not the agent's."""


@dataclass
class ExecResult:
    exit_code: int | None
    output: str
    timed_out: bool
    duration_s: float

    def text(self) -> str:
        tail = " (timed out)" if self.timed_out else ""
        return f"{self.output}\n[exit code: {self.exit_code}{tail}]"


@dataclass(frozen=True)
class Resources:
    cpus: float = 1.0
    memory_mb: int = 1024
    pids: int = 256


class Sandbox(Protocol):
    name: str
    workdir: str
    notes: dict[str, Any]

    def exec(self, command: str, timeout_s: float, output_chars: int = OUTPUT_CHARS,
             stdin: bytes = b"") -> ExecResult: ...

    def read_file(self, path: str) -> bytes: ...

    def write_file(self, path: str, data: bytes) -> None: ...

    def export(self, dest: Path) -> None: ...

    def close(self) -> None: ...


def owned_tar(source: Path, uid: int = AGENT_UID) -> bytes:
    """A tar of ``source``'s contents owned by ``uid`` (so the agent user can edit them)."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for path in sorted(source.rglob("*")):
            info = tar.gettarinfo(str(path), arcname=str(path.relative_to(source)))
            info.uid = info.gid = uid
            info.uname = info.gname = ""
            if info.isfile():
                with path.open("rb") as handle:
                    tar.addfile(info, handle)
            else:
                tar.addfile(info)
    return buffer.getvalue()


def _docker(*args: str, stdin: bytes | None = None, timeout: float = 120,
            check: bool = True) -> subprocess.CompletedProcess[bytes]:
    try:
        done = subprocess.run(["docker", *args], input=stdin, capture_output=True,
                              timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        raise SandboxFault(f"docker {args[0]} did not answer within {timeout:g}s") from None
    if check and done.returncode != 0:
        lines = done.stderr.decode("utf-8", "replace").strip().splitlines()
        raise SandboxFault(f"docker {args[0]} failed: {lines[-1] if lines else done.returncode}")
    return done


@functools.cache
def network_mode() -> str:
    """The network a task that asks for one gets: Docker's ``bridge``, or the host's own
    where the engine runs without a bridge (``dockerd --bridge=none``)."""
    done = _docker("network", "inspect", "bridge", check=False)
    return "bridge" if done.returncode == 0 else "host"


class DockerSandbox:
    """One container per attempt, kept alive with ``sleep`` and driven by ``docker exec``."""

    name = "docker"

    def __init__(self, image: str, workdir: str = "/workspace", network: bool = False,
                 resources: Resources | None = None, user: str = f"{AGENT_UID}:{AGENT_UID}"
                 ) -> None:
        self.image = image
        self.workdir = workdir
        self.container = f"llmbench-agent-{uuid.uuid4().hex[:12]}"
        res = resources or Resources()
        mode = network_mode() if network else "none"
        self.notes: dict[str, Any] = {"backend": "docker", "image": image,
                                      "container": self.container, "network": mode,
                                      "user": user, "memory_mb": res.memory_mb,
                                      "cpus": res.cpus, "pids": res.pids}
        started = time.perf_counter()
        memory = f"{res.memory_mb}m"
        _docker("run", "-d", "--name", self.container, "--label", LABEL,
                "--network", mode,
                "--memory", memory, "--memory-swap", memory, "--pids-limit", str(res.pids),
                "--cpus", f"{res.cpus:g}", "--user", user, "--cap-drop", "ALL",
                "--security-opt", "no-new-privileges", "--workdir", workdir,
                "--env", f"HOME={workdir}", "--init", image, "sleep", "infinity")
        self.closed = False
        try:
            self._mkdir(workdir)
        except BaseException:
            self.close()
            raise
        self.start_s = time.perf_counter() - started

    def put(self, source: Path, dest: str | None = None) -> None:
        """Copy a host folder's contents into the container (owned by the agent user)."""
        target = dest or self.workdir
        self._mkdir(target)
        _docker("cp", "-", f"{self.container}:{target}", stdin=owned_tar(source))

    def _mkdir(self, path: str) -> None:
        """A folder owned by the agent user, made by the engine (``docker cp`` of a tar
        holding it): the container's root has no capabilities to chown with."""
        parent, name = path.rstrip("/").rsplit("/", 1)
        buffer = io.BytesIO()
        with tarfile.open(fileobj=buffer, mode="w") as tar:
            info = tarfile.TarInfo(name)
            info.type, info.mode, info.uid, info.gid = tarfile.DIRTYPE, 0o755, AGENT_UID, AGENT_UID
            tar.addfile(info)
        _docker("cp", "-", f"{self.container}:{parent or '/'}", stdin=buffer.getvalue())

    def exec(self, command: str, timeout_s: float, output_chars: int = OUTPUT_CHARS,
             stdin: bytes = b"", user: str | None = None) -> ExecResult:
        seconds = max(1, int(timeout_s + 0.999))
        inner = ["timeout", "-s", "KILL", str(seconds), "bash", "-c", command]
        cmd = ["docker", "exec", "-i", "-w", self.workdir, *(["-u", user] if user else []),
               self.container, *inner]
        done = _run_group(cmd, stdin, timeout_s + 10, output_chars,
                          {"stderr": subprocess.STDOUT})
        code, out, timed_out, elapsed = done.exit_code, done.output, done.timed_out, \
            done.duration_s
        if code == 137:  # killed by the in-container timeout (or the memory limit)
            timed_out = timed_out or elapsed >= seconds - 0.5
        if code in (125, 126, 127) or (code == 137 and not timed_out) \
                or (code is not None and code < 0 and not timed_out) \
                or timed_out and elapsed > timeout_s + 5:
            if not self.alive():
                raise SandboxFault(f"the container {self.container} died "
                                   f"({self.state_line()})")
        if ("No such container" in out or "is not running" in out) and not self.alive():
            raise SandboxFault(f"the container {self.container} died ({self.state_line()})")
        return ExecResult(code, out, timed_out, elapsed)

    def remove(self, path: str) -> None:
        _docker("exec", "-u", "0", self.container, "rm", "-rf", "--", path)

    def alive(self) -> bool:
        done = _docker("inspect", "-f", "{{.State.Running}}", self.container, check=False)
        return done.returncode == 0 and done.stdout.strip() == b"true"

    def state_line(self) -> str:
        done = _docker("inspect", "-f", "exit code {{.State.ExitCode}}, OOMKilled "
                       "{{.State.OOMKilled}}", self.container, check=False)
        return done.stdout.decode().strip() or "gone"

    def read_file(self, path: str) -> bytes:
        done = _docker("exec", "-w", self.workdir, self.container, "cat", "--", path,
                       check=False, timeout=60)
        if done.returncode != 0:
            if not self.alive():
                raise SandboxFault(f"the container {self.container} died ({self.state_line()})")
            raise FileNotFoundError(done.stderr.decode("utf-8", "replace").strip() or path)
        return done.stdout

    def write_file(self, path: str, data: bytes) -> None:
        script = 'mkdir -p -- "$(dirname -- "$1")" && cat > "$1"'
        done = _docker("exec", "-i", "-w", self.workdir, self.container, "sh", "-c", script,
                       "sh", path, stdin=data, check=False, timeout=60)
        if done.returncode != 0:
            if not self.alive():
                raise SandboxFault(f"the container {self.container} died ({self.state_line()})")
            raise OSError(done.stderr.decode("utf-8", "replace").strip() or f"cannot write {path}")

    def export(self, dest: Path) -> None:
        """The work tree as it is now, copied out to ``dest`` (read by the harness only)."""
        done = _docker("cp", f"{self.container}:{self.workdir}/.", "-", timeout=300)
        dest.mkdir(parents=True, exist_ok=True)
        with tarfile.open(fileobj=io.BytesIO(done.stdout), mode="r") as tar:
            tar.extractall(dest, filter="data")

    def close(self) -> None:
        if not getattr(self, "closed", True):
            self.closed = True
            _docker("rm", "-f", "-v", self.container, check=False, timeout=60)


class LocalSandbox:
    """The fallback for tasks that need no image: a private temp folder, a scrubbed
    environment, an unprivileged user when the harness is root, rlimits, the network cut
    with ``unshare -rn`` where the kernel allows it, and every process killed by group."""

    name = "subprocess"

    def __init__(self, network: bool = False) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="llmbench-agent-"))
        self.root.chmod(0o755)
        self.workdir = str(self.root / "workspace")
        Path(self.workdir).mkdir()
        self.user = AGENT_UID if os.geteuid() == 0 else None
        if self.user is not None:
            os.chown(self.workdir, self.user, self.user)
        self.prefix: list[str] = []
        unshare = shutil.which("unshare")
        if not network and unshare and subprocess.run(
                [unshare, "-rn", "true"], capture_output=True, check=False).returncode == 0:
            self.prefix = [unshare, "-rn"]
        self.notes = {"backend": "subprocess", "user": "nobody" if self.user else "current user",
                      "network": "none (unshare -rn)" if self.prefix else
                      ("allowed" if network else "not isolated (unshare -rn unavailable)"),
                      "filesystem": "private temp folder; the rest of the host is readable"}
        self.start_s = 0.0
        self.closed = False

    def put(self, source: Path, dest: str | None = None) -> None:
        target = self._path(dest or self.workdir)
        shutil.copytree(source, target, dirs_exist_ok=True, symlinks=True)
        if self.user is not None:
            for path in [target, *target.rglob("*")]:
                os.lchown(path, self.user, self.user)

    def _env(self) -> dict[str, str]:
        return {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": self.workdir,
                "TMPDIR": self.workdir, "LANG": "C.UTF-8"}

    def exec(self, command: str, timeout_s: float, output_chars: int = OUTPUT_CHARS,
             stdin: bytes = b"", user: str | None = None) -> ExecResult:
        popen: dict[str, Any] = {"cwd": self.workdir, "env": self._env(),
                                 "stderr": subprocess.STDOUT, "preexec_fn": _limits}
        if self.user is not None and user != "0":
            popen.update(user=self.user, group=self.user, extra_groups=[])
        return _run_group([*self.prefix, "bash", "-c", command], stdin, timeout_s,
                          output_chars, popen)

    def remove(self, path: str) -> None:
        shutil.rmtree(self._path(path), ignore_errors=True)

    def _path(self, path: str) -> Path:
        full = (Path(self.workdir) / path).resolve()
        if not full.is_relative_to(self.root):
            raise PermissionError(f"{path}: outside the sandbox folder")
        return full

    def read_file(self, path: str) -> bytes:
        return self._path(path).read_bytes()

    def write_file(self, path: str, data: bytes) -> None:
        target = self._path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
        if self.user is not None:
            os.chown(target, self.user, self.user)

    def export(self, dest: Path) -> None:
        shutil.copytree(self.workdir, dest, dirs_exist_ok=True, symlinks=True)

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        shutil.rmtree(self.root, ignore_errors=True)


def _run_group(cmd: list[str], stdin: bytes, timeout_s: float, output_chars: int,
               popen: dict[str, Any]) -> ExecResult:
    """Run ``cmd`` in its own process group, output capped, killed at ``timeout_s``; the
    group is killed when the command ends too, so nothing it started in the background
    outlives the tool call (a process that makes its own session escapes: use Docker)."""
    start = time.perf_counter()
    process = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                               start_new_session=True, **popen)
    assert process.stdin is not None and process.stdout is not None
    drain = _Drain(process.stdout, output_chars * 4)
    drain.start()
    try:
        process.stdin.write(stdin)
        process.stdin.close()
    except OSError:
        pass
    timed_out = False
    try:
        process.wait(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        timed_out = True
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    process.wait()
    drain.join(timeout=5)
    process.stdout.close()
    return ExecResult(process.returncode, clip(drain.text(), output_chars), timed_out,
                      time.perf_counter() - start)


def _limits() -> None:
    for which, value in ((resource.RLIMIT_NPROC, 4096), (resource.RLIMIT_FSIZE, 256 << 20)):
        _, hard = resource.getrlimit(which)
        cap = value if hard == resource.RLIM_INFINITY else min(value, hard)
        try:
            resource.setrlimit(which, (cap, cap))
        except (ValueError, OSError):
            pass


def quote(path: str) -> str:
    return shlex.quote(path)


@dataclass
class SandboxSpec:
    """How to make a task's sandboxes (each attempt and the check get a fresh one)."""

    backend: str  # docker / subprocess
    image: str | None = None
    workdir: str = "/workspace"
    network: bool = False
    resources: Resources = field(default_factory=Resources)

    def open(self) -> DockerSandbox | LocalSandbox:
        if self.backend == "docker":
            assert self.image is not None
            return DockerSandbox(self.image, self.workdir, self.network, self.resources)
        return LocalSandbox(self.network)
