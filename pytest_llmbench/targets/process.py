"""A target run as a local process (``vllm serve ...``, the simulator, any server).

The process gets its own process group, so stopping it stops its children too,
and (on Linux) dies with the process that launched it, so even a killed
pytest leaves no server behind. Its stdout and stderr go to the log file in
the run directory.
"""

from __future__ import annotations

import ctypes
import os
import shlex
import signal
import socket
import subprocess
import sys
from pathlib import Path

from pytest_llmbench.targets.base import Endpoint, TargetError
from pytest_llmbench.targets.spec import TargetSpec

_PR_SET_PDEATHSIG = 1
_SECRET_HINTS = ("key", "token", "secret", "password", "credential")


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host if host not in ("localhost", "0.0.0.0") else "127.0.0.1", 0))
        return int(sock.getsockname()[1])


def resolve_port(spec: TargetSpec) -> int | None:
    if spec.port == "auto":
        return free_port(spec.host)
    return int(spec.port) if spec.port is not None else None


def redact_args(argv: list[str]) -> list[str]:
    """The command for run.json, without the values of secret-looking flags
    (``--api-key X``, ``--hf-token=X``)."""
    out: list[str] = []
    hide_next = False
    for arg in argv:
        flag, eq, _ = arg.partition("=")
        secret = arg.startswith("-") and any(h in flag.lower() for h in _SECRET_HINTS)
        if hide_next:
            out.append("***")
        elif secret and eq:
            out.append(f"{flag}=***")
        else:
            out.append(arg)
        hide_next = secret and not eq
    return out


_LIBC = ctypes.CDLL(None, use_errno=True) if sys.platform.startswith("linux") else None
"""Loaded in the parent: the forked child must not dlopen (another thread may hold its lock)."""


def _die_with_parent() -> None:  # pragma: no cover - runs in the child
    if _LIBC is not None:
        _LIBC.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)


class ProcessTarget:
    def __init__(self, spec: TargetSpec) -> None:
        self.spec = spec
        self.name = spec.name
        self.proc: subprocess.Popen[bytes] | None = None

    def command(self, port: int | None) -> list[str]:
        command = self.spec.command
        parts = shlex.split(command) if isinstance(command, str) else list(command or [])
        return [self.spec.fill(str(part), port) for part in parts]

    def launch(self, log_dir: Path) -> Endpoint:
        """Start the process (on the main thread: the parent-death signal follows the
        thread that forked)."""
        spec = self.spec
        port = resolve_port(spec)
        argv = self.command(port)
        log = log_dir / f"{spec.name}.log"
        env = {**os.environ, **{k: spec.fill(v, port) for k, v in spec.env.items()}}
        with log.open("ab") as out:
            try:
                self.proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT,
                                             stdin=subprocess.DEVNULL, env=env, cwd=spec.workdir,
                                             start_new_session=True,
                                             preexec_fn=_die_with_parent if _LIBC else None)
            except OSError as exc:
                raise TargetError(f"target {spec.name}: cannot run {argv[0]!r}: {exc}") from None
        url = spec.base_url(port)
        return Endpoint(name=spec.name, kind="process", url=url, commit=spec.commit,
                        log=str(log), pid=self.proc.pid, health_url=spec.health_url(url, port),
                        extra={"command": redact_args(argv)})

    def alive(self) -> str | None:
        if self.proc is None:
            return "was not started"
        code = self.proc.poll()
        return None if code is None else f"exited with code {code}"

    def stop(self) -> None:
        proc = self.proc
        if proc is None or proc.poll() is not None:
            return
        for sig, wait in ((signal.SIGTERM, self.spec.stop_timeout), (signal.SIGKILL, 10.0)):
            try:
                os.killpg(proc.pid, sig)
            except ProcessLookupError:
                return
            try:
                proc.wait(wait)
                return
            except subprocess.TimeoutExpired:
                continue
