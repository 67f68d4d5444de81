"""Start a run's targets once, wait for them, and always stop them.

The controller owns a :class:`TargetSet`: targets are launched one after the
other (a process must be forked from the main thread to die with it), then
waited for in parallel. A target that cannot start or never becomes healthy
is stopped at once and its endpoint carries the error (its items fail with
it); one whose engine is missing carries a skip reason instead. Stopping runs
at the end of the run, on Ctrl-C, on SIGTERM/SIGHUP (turned into
KeyboardInterrupt so pytest winds down normally) and at interpreter exit.
"""

from __future__ import annotations

import atexit
import os
import signal
import threading
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from pytest_llmbench.targets.base import (
    Endpoint,
    Target,
    TargetError,
    TargetUnavailable,
    probe,
    wait_healthy,
    with_tail,
)
from pytest_llmbench.targets.spec import TargetSpec

_SIGNALS = tuple(s for s in (getattr(signal, "SIGTERM", None), getattr(signal, "SIGHUP", None))
                 if s is not None)


def make_target(spec: TargetSpec, run_id: str) -> Target:
    if spec.kind == "docker":
        from pytest_llmbench.targets.docker import DockerTarget  # noqa: PLC0415 - lazy SDK

        return DockerTarget(spec, run_id)
    if spec.kind == "process":
        from pytest_llmbench.targets.process import ProcessTarget  # noqa: PLC0415

        return ProcessTarget(spec)
    from pytest_llmbench.targets.url import UrlTarget  # noqa: PLC0415

    return UrlTarget(spec)


class TargetSet:
    """The targets of one run, started once and stopped whatever happens."""

    def __init__(self, specs: Iterable[TargetSpec], run_id: str, log_dir: Path,
                 require_docker: bool = False,
                 factory: Callable[[TargetSpec, str], Target] = make_target) -> None:
        self.specs = list(specs)
        self.run_id = run_id
        self.log_dir = log_dir
        self.require_docker = require_docker
        self.factory = factory
        self.running: dict[str, Target] = {}
        self.endpoints: dict[str, Endpoint] = {}
        self._lock = threading.Lock()
        self._previous: dict[int, Any] = {}

    def start(self) -> dict[str, Endpoint]:
        """Launch and wait for every target; returns the endpoints by target name."""
        self._guard()
        try:
            self.log_dir.mkdir(parents=True, exist_ok=True)
            for spec in self.specs:
                self.endpoints[spec.name] = self._launch(spec)
            waiting = [(spec, self.endpoints[spec.name]) for spec in self.specs
                       if spec.name in self.running]
            if waiting:
                with ThreadPoolExecutor(len(waiting), thread_name_prefix="llmbench-wait") as pool:
                    list(pool.map(lambda pair: self._wait(*pair), waiting))
        except BaseException:
            self.stop()
            raise
        return self.endpoints

    def _launch(self, spec: TargetSpec) -> Endpoint:
        target = self.factory(spec, self.run_id)
        try:
            endpoint = target.launch(self.log_dir)
        except TargetUnavailable as exc:
            if self.require_docker:
                raise TargetError(f"--llmbench-require-docker: target {spec.name}: {exc}"
                                  ) from None
            return Endpoint(name=spec.name, kind=spec.kind, commit=spec.commit,
                            skip=f"target {spec.name}: {exc}")
        except TargetError as exc:
            return Endpoint(name=spec.name, kind=spec.kind, commit=spec.commit, error=str(exc))
        with self._lock:
            self.running[spec.name] = target
        return endpoint

    def _wait(self, spec: TargetSpec, endpoint: Endpoint) -> None:
        target = self.running[spec.name]
        try:
            endpoint.started_s = round(wait_healthy(
                spec.name, endpoint.health_url or endpoint.url, spec.startup_timeout,
                target.alive, endpoint.log), 3)
        except TargetError as exc:
            self._stop_one(spec.name)
            endpoint.error = str(exc)

    def _stop_one(self, name: str) -> None:
        with self._lock:
            target = self.running.pop(name, None)
        if target is not None:
            target.stop()

    def stop(self) -> None:
        """Stop and remove every running target (in parallel); safe to call again."""
        names = list(self.running)
        if names:
            with ThreadPoolExecutor(len(names), thread_name_prefix="llmbench-stop") as pool:
                list(pool.map(self._stop_one, names))
        self._unguard()

    def _guard(self) -> None:
        atexit.register(self.stop)
        if threading.current_thread() is not threading.main_thread():
            return
        for sig in _SIGNALS:
            self._previous[sig] = signal.signal(sig, _interrupt)

    def _unguard(self) -> None:
        atexit.unregister(self.stop)
        if threading.current_thread() is not threading.main_thread():
            return
        for sig, previous in self._previous.items():
            signal.signal(sig, previous)
        self._previous.clear()


def down_reason(endpoint: Endpoint) -> str | None:
    """None while the target answers its health URL, else why not, with its log tail.
    Any process may ask (a worker whose request to the target failed)."""
    why = probe(endpoint)
    if why is None:
        return None
    if endpoint.container:
        from pytest_llmbench.targets.docker import inspect_exit  # noqa: PLC0415

        why = inspect_exit(endpoint.container) or why
    elif endpoint.pid and not _pid_running(endpoint.pid):
        why = "exited"
    return with_tail(f"target {endpoint.name} {why}", endpoint.log)


def _pid_running(pid: int) -> bool:
    """Whether ``pid`` runs (a zombie, dead but not yet reaped, does not)."""
    if not os.path.isdir("/proc/self"):
        return True
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as handle:
            return handle.read().rsplit(")", 1)[-1].split()[0] != "Z"
    except OSError:
        return False


def _interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt(f"signal {signum}")
