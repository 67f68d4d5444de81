"""What the engine puts around each call, built from the run context every process shares.

The controller resolves the options once and writes absolute paths into the
run's context (handed to xdist workers), so every process uses the same cache,
recording and budget ledger.
"""

from __future__ import annotations

import os
import socket
from pathlib import Path
from typing import Any

from pytest_llmbench.calls.budget import Budget
from pytest_llmbench.calls.store import Responses, ResponseStore

CACHE_DIR = "llmbench_cache_dir"
CACHE_MODE = "llmbench_cache_mode"
RECORD_DIR = "llmbench_record_dir"
REPLAY_DIR = "llmbench_replay_dir"
BUDGET = "llmbench_budget"
BUDGET_DIR = "llmbench_budget_dir"
COORDINATOR = "llmbench_coordinator"
RUN_ID = "llmbench_run_id"


def layers_from_context(context: dict[str, Any]) -> tuple[Responses | None, Budget | None]:
    def store(key: str) -> ResponseStore | None:
        return ResponseStore(Path(context[key])) if context.get(key) else None

    responses = Responses(cache=store(CACHE_DIR), cache_mode=context.get(CACHE_MODE) or "off",
                          record=store(RECORD_DIR), replay=store(REPLAY_DIR))
    budget = None
    if context.get(BUDGET) and context.get(COORDINATOR):
        from pytest_llmbench.calls.coordinator import RedisLedger, connect, run_key  # noqa: PLC0415

        ledger = RedisLedger(connect(context[COORDINATOR]), run_key(context[RUN_ID], "budget"))
        budget = Budget(float(context[BUDGET]), ledger, f"{socket.gethostname()}:{os.getpid()}")
    elif context.get(BUDGET) and context.get(BUDGET_DIR):
        budget = Budget(float(context[BUDGET]), Path(context[BUDGET_DIR]),
                        os.environ.get("PYTEST_XDIST_WORKER", "main"))
    return (responses if responses.active else None), budget
