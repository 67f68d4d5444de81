"""A target run in a Docker container, through the ``docker`` SDK (imported lazily).

Every container carries labels naming the target, the run and the process
that owns it, so a run (or ``llmbench targets cleanup``) removes what a killed
run left behind. Its output is streamed into the run directory's log file by a
background thread for as long as it runs.
"""

from __future__ import annotations

import os
import socket
import threading
from pathlib import Path
from typing import Any

from pytest_llmbench.targets.base import Endpoint, TargetError, TargetUnavailable
from pytest_llmbench.targets.process import resolve_port
from pytest_llmbench.targets.spec import TargetSpec

LABEL = "io.llmbench.target"
LABEL_RUN = "io.llmbench.run"
LABEL_OWNER = "io.llmbench.owner"
"""``host:pid`` of the process that started the container."""


def client() -> Any:
    """A connected Docker client, or TargetUnavailable saying why there is none."""
    try:
        import docker  # noqa: PLC0415 - heavy and optional
    except ImportError:
        raise TargetUnavailable("the docker package is missing "
                                "(pip install 'pytest-llmbench[docker]')") from None
    try:
        result = docker.from_env(timeout=60)
        result.ping()
    except Exception as exc:  # noqa: BLE001 - any failure means "no engine here"
        lines = str(exc).strip().splitlines()
        raise TargetUnavailable(f"no Docker engine: {lines[-1] if lines else type(exc).__name__}"
                                ) from None
    return result


def docker_status() -> str | None:
    """None when a Docker engine answers, else why not (one line)."""
    try:
        client().close()
    except TargetUnavailable as exc:
        return str(exc)
    return None


def owner() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def device_requests(gpus: str | int | list[str] | None) -> list[Any]:
    if gpus is None:
        return []
    from docker.types import DeviceRequest  # noqa: PLC0415

    if gpus == "all":
        return [DeviceRequest(count=-1, capabilities=[["gpu"]])]
    if isinstance(gpus, int):
        return [DeviceRequest(count=gpus, capabilities=[["gpu"]])]
    return [DeviceRequest(device_ids=[str(g) for g in gpus], capabilities=[["gpu"]])]


class DockerTarget:
    def __init__(self, spec: TargetSpec, run_id: str) -> None:
        self.spec = spec
        self.name = spec.name
        self.run_id = run_id
        self.container: Any = None
        self._client: Any = None
        self._follower: threading.Thread | None = None

    def run_kwargs(self, port: int | None) -> dict[str, Any]:
        spec = self.spec
        command = spec.command
        if isinstance(command, list):
            command = [spec.fill(str(c), port) for c in command]
        elif isinstance(command, str):
            command = spec.fill(command, port)
        kwargs: dict[str, Any] = {
            "image": spec.fill(spec.image or "", port), "command": command, "detach": True,
            "name": f"llmbench-{self.run_id}-{spec.name}",
            "labels": {LABEL: spec.name, LABEL_RUN: self.run_id, LABEL_OWNER: owner()},
            "environment": {k: spec.fill(v, port) for k, v in spec.env.items()},
            "volumes": [spec.fill(v, port) for v in spec.volumes],
            "device_requests": device_requests(spec.gpus),
        }
        if spec.network:
            kwargs["network_mode"] = spec.network
        if spec.network != "host":
            ports = dict(spec.ports) or ({str(port): port} if port else {})
            kwargs["ports"] = ports
        if spec.shm_size:
            kwargs["shm_size"] = spec.shm_size
        if spec.workdir:
            kwargs["working_dir"] = spec.workdir
        return kwargs

    def launch(self, log_dir: Path) -> Endpoint:
        import docker.errors  # noqa: PLC0415

        self._client = client()
        remove_leftovers(self._client)
        port = resolve_port(self.spec)
        kwargs = self.run_kwargs(port)
        try:
            self.container = self._client.containers.run(**kwargs)
        except docker.errors.DockerException as exc:
            raise TargetError(f"target {self.name}: docker run {kwargs['image']} failed: "
                              f"{_one_line(exc)}") from None
        log = log_dir / f"{self.name}.log"
        self._follower = threading.Thread(target=self._follow, args=(log,), daemon=True,
                                          name=f"llmbench-log-{self.name}")
        self._follower.start()
        url = self.spec.base_url(port)
        return Endpoint(name=self.name, kind="docker", url=url, commit=self.spec.commit,
                        log=str(log), image=kwargs["image"], container=self.container.id,
                        health_url=self.spec.health_url(url, port),
                        extra={"container_name": kwargs["name"], "gpus": self.spec.gpus})

    def _follow(self, log: Path) -> None:
        with log.open("ab") as out:
            try:
                for chunk in self.container.logs(stream=True, follow=True):
                    out.write(chunk)
                    out.flush()
            except Exception:  # noqa: BLE001 - the container went away: the log ends
                return

    def alive(self) -> str | None:
        return container_state(self.container)

    def stop(self) -> None:
        container, self.container = self.container, None
        if container is None:
            return
        try:
            container.stop(timeout=int(self.spec.stop_timeout))
        except Exception:  # noqa: BLE001,S110 - removed below either way
            pass
        if self._follower is not None:
            self._follower.join(timeout=5)
        try:
            container.remove(force=True)
        except Exception:  # noqa: BLE001,S110 - already gone
            pass
        if self._client is not None:
            self._client.close()


def container_state(container: Any) -> str | None:
    """None while the container runs, else how it ended."""
    if container is None:
        return "was not started"
    try:
        container.reload()
    except Exception as exc:  # noqa: BLE001
        return f"is gone ({_one_line(exc)})"
    state = container.attrs.get("State", {})
    if state.get("Running"):
        return None
    oom = " (out of memory)" if state.get("OOMKilled") else ""
    return f"exited with code {state.get('ExitCode')}{oom}"


def inspect_exit(container_id: str) -> str | None:
    """How a container ended, from any process (a worker quoting why its target is down)."""
    try:
        docker_client = client()
    except TargetUnavailable:
        return None
    try:
        return container_state(docker_client.containers.get(container_id))
    except Exception:  # noqa: BLE001
        return "is gone"
    finally:
        docker_client.close()


def remove_leftovers(docker_client: Any, everything: bool = False) -> list[str]:
    """Remove target containers whose owning process on this host is gone (all of them
    with ``everything``); returns their names."""
    removed = []
    host = socket.gethostname()
    for container in docker_client.containers.list(all=True, filters={"label": LABEL}):
        owner_label = container.labels.get(LABEL_OWNER, "")
        owner_host, _, pid = owner_label.rpartition(":")
        if not everything and (owner_host != host or _pid_alive(pid)):
            continue
        try:
            container.remove(force=True)
            removed.append(container.name)
        except Exception:  # noqa: BLE001,S112 - removed by someone else meanwhile
            continue
    return removed


def _pid_alive(pid: str) -> bool:
    try:
        os.kill(int(pid), 0)
    except (ValueError, ProcessLookupError):
        return False
    except PermissionError:
        return True
    return True


def _one_line(exc: BaseException) -> str:
    text = str(getattr(exc, "explanation", None) or exc).strip().splitlines()
    return text[-1] if text else type(exc).__name__
