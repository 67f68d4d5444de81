"""SIGTERM handled like Ctrl-C, in the controlling pytest process and its xdist workers.

Schedulers, CI runners, ``timeout``, ``docker stop`` and Kubernetes stop a run with
SIGTERM, whose default action kills the process on the spot: records.csv left behind
records.jsonl, no summary, run.json ``running``, the simulator's temp folder left. Raising
KeyboardInterrupt instead lets pytest wind down as after Ctrl-C: records flushed, summary
and report written, run.json ``interrupted``, the simulator and xdist workers stopped. A
worker that gets it ends its session interrupted, which xdist turns into the whole run's
interruption. ``timeout`` and ``scancel`` signal the process and then its whole group, so
the controller sees SIGTERM twice: once winding down, further SIGTERMs are ignored (SIGKILL
still ends it at once).
"""

from __future__ import annotations

import signal
import threading
from types import FrameType
from typing import Any

_installed: list[tuple[object, Any]] = []  # (the run that installed, the handler replaced)


def _on_sigterm(signum: int, frame: FrameType | None) -> None:
    signal.signal(signal.SIGTERM, signal.SIG_IGN)  # the group's copy must not kill the wind-down
    raise KeyboardInterrupt("SIGTERM")


def install(owner: object) -> bool:
    """Take over SIGTERM for ``owner`` (a run's config) when nobody else has: a user's
    handler, or an outer run's (pytester inline runs), stays."""
    if _installed or threading.current_thread() is not threading.main_thread():
        return False
    if signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL:
        return False
    _installed.append((owner, signal.signal(signal.SIGTERM, _on_sigterm)))
    return True


def uninstall(owner: object) -> None:
    """Put back what was there, if ``owner`` installed ours (at the end of its run, after
    its files are written and the simulator stopped)."""
    if (_installed and _installed[-1][0] is owner
            and threading.current_thread() is threading.main_thread()):
        signal.signal(signal.SIGTERM, _installed.pop()[1])
