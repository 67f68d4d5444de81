"""The subprocess sandbox: used where no Docker engine is.

Kernel-enforced: resource limits (CPU time, address space, processes, file
size), a fresh private working directory, an unprivileged user (``nobody``
when the harness runs as root) and, where ``unshare -rn`` works, a network
namespace with no interfaces. ``python -I`` ignores the environment and user
site, and the environment is scrubbed. File-system confinement beyond the
user's permissions comes from the guest's audit-hook guard (see guest.py),
which stops mistakes, not a determined attacker: use Docker for that.
``notes`` in every result say which of these were in force.
"""

from __future__ import annotations

import functools
import json
import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pytest_llmbench.scoring.sandbox.base import Limits, SandboxResult, classify, run_bounded

NOBODY = 65534
_GUEST = (Path(__file__).parent / "guest.py").read_text(encoding="utf-8")


class SubprocessSandbox:
    name = "subprocess"

    def __init__(self, python: str | None = None) -> None:
        self.python = python

    def run(self, program: str, limits: Limits) -> SandboxResult:
        setup = _setup(self.python)
        workdir = Path(tempfile.mkdtemp(prefix="llmbench-sandbox-"))
        try:
            popen: dict[str, Any] = {"cwd": workdir, "env": _env(workdir)}
            if setup.user is not None:
                os.chown(workdir, setup.user, setup.user)
                popen.update(user=setup.user, group=setup.user, extra_groups=[])
            os.chmod(workdir, 0o700)
            settings = {"guard": True, "cpu_s": int(limits.timeout_s) + 1,
                        "memory_mb": limits.memory_mb, "processes": limits.processes,
                        "file_size_mb": limits.file_size_mb}
            cmd = [*setup.prefix, setup.python, "-I", "-B", "-c", _GUEST, json.dumps(settings)]
            code, out, err, timed_out, elapsed = run_bounded(
                cmd, program.encode(), limits.timeout_s, limits.output_chars, **popen)
        finally:
            shutil.rmtree(workdir, ignore_errors=True)
        return SandboxResult(status=classify(code, err, timed_out), exit_code=code, stdout=out,
                             stderr=err, duration_s=elapsed, backend=self.name,
                             notes=setup.notes)


@dataclass(frozen=True)
class _Setup:
    """How this process runs sandboxed programs (probed once)."""

    python: str
    user: int | None
    prefix: list[str]
    notes: dict[str, Any]


def _env(workdir: Path) -> dict[str, str]:
    return {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": str(workdir), "TMPDIR": str(workdir),
            "LANG": "C.UTF-8", "PYTHONHASHSEED": "0"}


@functools.cache
def _setup(python: str | None) -> _Setup:
    """Probe once per process: an interpreter the sandbox user can run, and whether a
    network namespace can be made."""
    root = os.geteuid() == 0
    candidates = [python] if python else [sys.executable, "/usr/local/bin/python3",
                                          "/usr/bin/python3"]
    user = NOBODY if root else None
    chosen = next((c for c in candidates if c and _works([c], user)), None)
    notes: dict[str, Any] = {"user": "nobody" if root else "current user",
                             "filesystem": "private temp dir; reads outside it and the Python "
                                           "install refused by the guest's audit hook"}
    if chosen is None:  # no interpreter the unprivileged user can reach (e.g. under /root)
        user = None
        chosen = python or sys.executable
        notes["user"] = "root (no interpreter usable by nobody)"
    prefix: list[str] = []
    unshare = shutil.which("unshare")
    if unshare and _works([unshare, "-rn", chosen], user):
        prefix = [unshare, "-rn"]
        notes["network"] = "none (own network namespace: unshare -rn)"
    else:
        notes["network"] = ("not isolated by the kernel (unshare -rn unavailable); "
                            "socket use refused by the guest's audit hook")
    notes["python"] = chosen
    return _Setup(chosen, user, prefix, notes)


def _works(cmd: list[str], user: int | None) -> bool:
    extra: dict[str, Any] = {"user": user, "group": user, "extra_groups": []} if user else {}
    try:
        done = subprocess.run([*cmd, "-I", "-c", "pass"], capture_output=True, timeout=20,
                              cwd="/", **extra)
    except (OSError, subprocess.SubprocessError):
        return False
    return done.returncode == 0
