"""Run untrusted generated code with limits: in Docker where an engine answers,
else in a restricted subprocess. ``get_sandbox("auto" | "docker" | "subprocess")``."""

from __future__ import annotations

from typing import Protocol

from pytest_llmbench.errors import ConfigError
from pytest_llmbench.scoring.sandbox.base import Limits, SandboxResult, SandboxUnavailable

BACKENDS = ("auto", "docker", "subprocess")


class Sandbox(Protocol):
    name: str

    def run(self, program: str, limits: Limits, *, checks: str = "", bench: str | None = None,
            repeat: int = 1) -> SandboxResult:
        """Run ``program``, then ``checks`` (test code) and ``bench`` (timed ``repeat``
        times) in its namespace; passed only on the harness's own report."""
        ...


def get_sandbox(kind: str = "auto", *, image: str | None = None,
                python: str | None = None) -> Sandbox:
    """The backend for ``kind``; ``auto`` picks Docker when an engine answers."""
    from pytest_llmbench.scoring.sandbox.docker import DockerSandbox, docker_status
    from pytest_llmbench.scoring.sandbox.local import SubprocessSandbox

    if kind not in BACKENDS:
        raise ConfigError(f"sandbox: unknown backend {kind!r} (known: {', '.join(BACKENDS)})")
    if kind == "docker" or (kind == "auto" and docker_status() is None):
        return DockerSandbox(image)
    return SubprocessSandbox(python)


__all__ = ["BACKENDS", "Limits", "Sandbox", "SandboxResult", "SandboxUnavailable", "get_sandbox"]
