"""``--llmbench-budget``: stop starting calls once the projected cost would pass the budget.

Every process of a run (each xdist worker, or the one process of a plain run)
keeps its own ledger entry (a file ``<folder>/<worker>.json``, or for a sharded run with a
coordinator a field of a Redis hash) with what it has spent and
what its calls in flight are expected to cost, rewritten atomically after each
change. Before starting a call a process sums every ledger: no locks, no
network, and each process sees the others' spend within one call. The folder
is made by the controller and handed to the workers.

A call's expected cost is the mean cost of this model's finished calls in this
process, else its prompt's estimated tokens and ``max_tokens`` (or 256) at the
model's price. A model without a price costs nothing here. When only calls in
flight stand between a call and the budget, it waits for their real cost.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from pytest_llmbench.calls.pricing import cost_usd
from pytest_llmbench.errors import LLMBenchError
from pytest_llmbench.providers.base import ChatRequest, Completion
from pytest_llmbench.providers.common import estimate_tokens, prompt_text

log = logging.getLogger(__name__)
DEFAULT_OUTPUT_TOKENS = 256
SKIP_PREFIX = "llmbench budget"
POLL_S = 0.05
MAX_WAIT_S = 300.0
"""Longest wait for calls in flight (a crashed worker's never finish)."""


class BudgetExhausted(LLMBenchError):
    """A call was not started: its projected cost would pass ``--llmbench-budget``."""


@dataclass(frozen=True)
class Booking:
    expected: float
    guessed: bool


class Ledger(Protocol):
    """Where every process of a run keeps what it spent and has in flight."""

    def write(self, worker: str, entry: dict[str, Any]) -> None: ...

    def entries(self) -> list[dict[str, Any]]: ...


class FileLedger:
    """One JSON file per process in a folder every process of one machine shares."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def write(self, worker: str, entry: dict[str, Any]) -> None:
        path = self.folder / f"{worker}.json"
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps(entry), encoding="utf-8")
        os.replace(tmp, path)

    def entries(self) -> list[dict[str, Any]]:
        out = []
        for path in self.folder.glob("*.json"):
            try:
                out.append(json.loads(path.read_text(encoding="utf-8")))
            except (OSError, ValueError):  # replaced while read: the next call sees it
                continue
        return out


class Budget:
    def __init__(self, limit: float, ledger: Ledger | Path, worker: str) -> None:
        self.limit = limit
        self.ledger = FileLedger(ledger) if isinstance(ledger, Path) else ledger
        self.worker = worker
        self.spent = 0.0
        self.reserved = 0.0
        self.stopped = False
        self._costs: dict[str, tuple[float, int]] = {}
        self._guessing: dict[str, int] = {}

    def estimate(self, request: ChatRequest) -> float:
        total, count = self._costs.get(request.model.name, (0.0, 0))
        if count:
            return total / count
        spec = request.model
        output = request.params.get("max_tokens") or request.params.get("max_completion_tokens")
        cost = cost_usd(spec.provider, spec.api_model, spec.settings,
                        estimate_tokens(prompt_text(request.messages)),
                        int(output or DEFAULT_OUTPUT_TOKENS), None)
        return cost or 0.0

    def input_cost(self, request: ChatRequest) -> float:
        """What the prompt alone costs: the least a first call of a model can cost."""
        spec = request.model
        return cost_usd(spec.provider, spec.api_model, spec.settings,
                        estimate_tokens(prompt_text(request.messages)), 0, None) or 0.0

    async def reserve(self, request: ChatRequest) -> Booking:
        """Book a call's expected cost, or raise BudgetExhausted (and stay stopped).

        When only the calls in flight stand between this one and the budget, wait for
        them to finish: their real cost decides. Until a model's first call here has
        finished, its cost is a guess, so one call of it goes at a time, and none when its
        prompt alone (a cost it surely has) would pass the budget."""
        name = request.model.name
        waited = 0.0
        while True:
            known = name in self._costs
            expected = self.estimate(request)
            spent, reserved, stopped = totals(self.ledger)
            surely = expected if known else self.input_cost(request)
            if self.stopped or stopped or spent + surely > self.limit or waited >= MAX_WAIT_S:
                self._stop(spent, expected)
            if known and spent + reserved + expected <= self.limit:
                break
            if not known and not self._guessing.get(name):
                break
            await asyncio.sleep(POLL_S)
            waited += POLL_S
        self._guessing[name] = self._guessing.get(name, 0) + (not known)
        self.reserved += expected
        self._write()
        return Booking(expected, guessed=not known)

    def _stop(self, spent: float, expected: float) -> None:
        if not self.stopped:
            self.stopped = True
            self._write()
            log.info("budget: stopping at $%.4f spent, next call ~$%.4f, budget $%.2f",
                     spent, expected, self.limit)
        raise BudgetExhausted(
            f"{SKIP_PREFIX} ${self.limit:.2f} reached: ${spent:.4f} spent, the next call would "
            f"bring it to ~${spent + expected:.4f}; not started (--llmbench-budget)")

    def settle(self, booking: Booking, request: ChatRequest, completion: Completion | None
               ) -> None:
        """A call ended: its real cost (None: it failed) replaces what was booked."""
        name = request.model.name
        self.reserved = max(0.0, self.reserved - booking.expected)
        if booking.guessed:
            self._guessing[name] -= 1
        if completion is not None:
            cost = completion.cost_usd or 0.0  # a model without a price counts as free
            self.spent += cost
            total, count = self._costs.get(name, (0.0, 0))
            self._costs[name] = (total + cost, count + 1)
        self._write()

    def _write(self) -> None:
        self.ledger.write(self.worker, {"spent": self.spent, "reserved": self.reserved,
                                        "stopped": self.stopped})


def totals(ledger: Ledger | Path) -> tuple[float, float, bool]:
    """(spent, reserved, stopped) over every process's ledger."""
    spent = reserved = 0.0
    stopped = False
    for data in (FileLedger(ledger) if isinstance(ledger, Path) else ledger).entries():
        spent += float(data.get("spent") or 0.0)
        reserved += float(data.get("reserved") or 0.0)
        stopped |= bool(data.get("stopped"))
    return spent, reserved, stopped
