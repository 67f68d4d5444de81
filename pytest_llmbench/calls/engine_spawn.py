"""Starting the engine's child process (:mod:`~pytest_llmbench.calls.engine_child`).

Kept apart from :mod:`~pytest_llmbench.calls.engine_process` and its imports (~0.08 s) so that
pytest can start the child the moment it has parsed its options: the child's interpreter and
SDK imports then overlap pytest's own start-up. The run's engine adopts that early child.
"""

from __future__ import annotations

import contextlib
import os
import pickle
import socket
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from pytest_llmbench.errors import LLMBenchError

LOCAL_PROVIDERS = frozenset({"inproc"})
"""Providers that stay in pytest's process: no network, an extra hop would only cost."""
Child = tuple["subprocess.Popen[bytes]", Connection, Any]  # the process, its pipe, its stderr
_early: Child | None = None


def spawn() -> Child:
    parent, child = socket.socketpair()
    package_root = str(Path(__file__).resolve().parents[2])
    path = os.pathsep.join([package_root, *sys.path[1:], os.environ.get("PYTHONPATH", "")])
    stderr = tempfile.TemporaryFile()
    try:
        process = subprocess.Popen(
            [sys.executable, "-m", "pytest_llmbench.calls.engine_child", str(child.fileno())],
            pass_fds=(child.fileno(),), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=stderr, env={**os.environ, "PYTHONPATH": path.strip(os.pathsep)},
            start_new_session=True)  # Ctrl-C reaches pytest, which then closes the child
    except OSError as exc:
        parent.close()
        raise LLMBenchError(f"could not start the engine process: {exc}") from None
    finally:
        child.close()
    return process, Connection(parent.detach()), stderr


def spawn_early() -> None:
    """Start the child now; the run's engine adopts it. Unadopted (the run stopped before
    calling), it is ended at unconfigure, or with pytest: its pipe closes."""
    global _early
    if _early is None:
        with contextlib.suppress(LLMBenchError, OSError):  # the run's own start says why
            _early = spawn()


def warm_early(providers: Sequence[str]) -> None:
    """Have the early child import these providers' SDKs (~0.5 s) while pytest starts up."""
    if _early is not None:
        with contextlib.suppress(OSError):  # a dead child: the run's own start says why
            _early[1].send_bytes(pickle.dumps(("warm", sorted(set(providers)))))


def take_early() -> Child | None:
    global _early
    child, _early = _early, None
    if child is not None and child[0].poll() is not None:
        child[1].close()
        return None
    return child


def discard_early() -> None:
    child = take_early()
    if child is not None:
        child[1].close()  # the child reads the end of its pipe and exits
        try:
            child[0].wait(timeout=10)
        except subprocess.TimeoutExpired:
            child[0].kill()
            child[0].wait()
