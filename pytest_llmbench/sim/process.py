"""Run the simulator as a child process: ``start_sim_process`` and ``SimProcess``.

A separate process keeps the simulator's event loop off the measuring
process's CPU time and GIL, and lets one server serve every xdist worker.
The child writes its bound port to a ready file once it accepts requests;
it exits when told (SIGTERM), when its parent dies, and at interpreter exit.
"""

from __future__ import annotations

import atexit
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

HOST = "127.0.0.1"
_PACKAGE_ROOT = Path(__file__).resolve().parents[2]
# never send local health checks through an HTTP proxy from the environment
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


class SimProcessError(RuntimeError):
    """The simulator process could not start; the message holds its log tail."""


class SimProcess:
    """A running simulator child process; ``base_url`` is ``http://127.0.0.1:PORT``."""

    def __init__(self, proc: subprocess.Popen[bytes], port: int, workdir: Path,
                 host: str = HOST) -> None:
        self.proc = proc
        self.port = port
        self.host = host
        self.workdir = workdir
        self._stopped = False
        atexit.register(self.stop)

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def pid(self) -> int:
        return self.proc.pid

    @property
    def log_path(self) -> Path:
        return self.workdir / "sim.log"

    def alive(self) -> bool:
        return self.proc.poll() is None

    def metrics(self) -> dict[str, Any]:
        """``GET /metrics`` as a dict."""
        with _OPENER.open(self.base_url + "/metrics", timeout=5) as resp:
            data: dict[str, Any] = json.loads(resp.read())
        return data

    def stop(self, timeout: float = 5.0) -> None:
        """Terminate the child (SIGTERM, then SIGKILL) and remove its files; idempotent."""
        if self._stopped:
            return
        self._stopped = True
        try:
            if self.proc.poll() is None:
                self.proc.terminate()
                try:
                    self.proc.wait(timeout)
                except subprocess.TimeoutExpired:
                    self.proc.kill()
                    self.proc.wait(timeout)
        finally:
            shutil.rmtree(self.workdir, ignore_errors=True)
            atexit.unregister(self.stop)

    def __enter__(self) -> SimProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def __repr__(self) -> str:
        state = "running" if self.alive() else "stopped"
        return f"<SimProcess pid={self.proc.pid} {self.base_url} {state}>"


def start_sim_process(
    port: int = 0,
    config: str | Path | Mapping[str, Any] | None = None,
    answer_key: str | Path | Mapping[str, Any] | Sequence[Mapping[str, Any]] | None = None,
    *,
    host: str = HOST,
    models: Sequence[str] = (),
    seed: int | None = None,
    log_level: str = "warning",
    python: str = sys.executable,
    timeout: float = 30.0,
    env: Mapping[str, str] | None = None,
    extra_args: Sequence[str] = (),
) -> SimProcess:
    """Spawn ``python -m pytest_llmbench.sim`` and wait until it answers ``/health``.

    ``config`` and ``answer_key`` are file paths, or data (a dict / list) that
    is written to a temporary file for the child. ``models`` are ``--model``
    specs; ``extra_args`` go to the command line as they are (e.g.
    ``["--loop", "asyncio"]``). Raises ``SimProcessError`` with the child's log if it fails.
    """
    workdir = Path(tempfile.mkdtemp(prefix="llmbench-sim-"))
    ready = workdir / "port"
    cmd = [python, "-m", "pytest_llmbench.sim", "--host", host, "--port", str(port),
           "--ready-file", str(ready), "--parent-pid", str(os.getpid()),
           "--log-level", log_level]
    if config is not None:
        cmd += ["--config", str(_as_file(config, workdir / "sim.yaml"))]
    if answer_key is not None:
        cmd += ["--answer-key", str(_as_file(answer_key, workdir / "answers.json"))]
    for spec in models:
        cmd += ["--model", spec]
    if seed is not None:
        cmd += ["--seed", str(seed)]
    cmd += list(extra_args)
    child_env = dict(os.environ if env is None else env)
    child_env["PYTHONPATH"] = os.pathsep.join(
        p for p in (str(_PACKAGE_ROOT), child_env.get("PYTHONPATH", "")) if p)
    log = open(workdir / "sim.log", "wb")  # noqa: SIM115 - the child owns it
    try:
        # its own session: a signal to the run's process group (``timeout``, ``scancel``, a
        # terminal's Ctrl-C) leaves it to serve the calls still in flight while the run winds
        # down; the parent stops it, and ``--parent-pid`` ends it if the parent dies
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, env=child_env, start_new_session=True)
    finally:
        log.close()
    deadline = time.monotonic() + timeout
    bound = None
    while time.monotonic() < deadline:
        if ready.exists():
            bound = int(ready.read_text().strip())
            break
        if proc.poll() is not None:
            break
        time.sleep(0.01)
    if bound is None:
        _abandon(proc)
        tail = _tail(workdir / "sim.log")
        shutil.rmtree(workdir, ignore_errors=True)
        why = f"exited with {proc.returncode}" if proc.returncode is not None else "timed out"
        raise SimProcessError(f"llmbench sim process {why}: {' '.join(cmd)}\n{tail}")
    sim = SimProcess(proc, bound, workdir, host)
    try:
        _wait_healthy(sim.base_url, deadline)
    except Exception:
        tail = _tail(sim.log_path)
        sim.stop()
        raise SimProcessError(f"llmbench sim at {sim.base_url} is not healthy\n{tail}") from None
    return sim


def _as_file(value: str | Path | Mapping[str, Any] | Sequence[Any], path: Path) -> Path:
    if isinstance(value, str | Path):
        return Path(value).resolve()
    path.write_text(json.dumps(value), encoding="utf-8")  # JSON is valid YAML too
    return path


def _wait_healthy(base_url: str, deadline: float) -> None:
    while True:
        try:
            with _OPENER.open(base_url + "/health", timeout=2) as resp:
                if resp.status == 200:
                    return
        except OSError:
            if time.monotonic() > deadline:
                raise
        time.sleep(0.02)


def _abandon(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.kill()
    proc.wait()


def _tail(path: Path, limit: int = 2000) -> str:
    try:
        return path.read_text(encoding="utf-8", errors="replace")[-limit:]
    except OSError:
        return ""
