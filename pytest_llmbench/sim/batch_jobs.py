"""Simulated provider batches: one timeline shared by OpenAI, Anthropic and Bedrock.

A job's state is computed from timestamps whenever it is asked for (no
background tasks): it validates for ``validate_s``, then finishes its requests
one after another over ``process_s``, then finalizes for ``finalize_s``. A job
still running at ``expire_s`` expires; a cancelled one stops where it is. The
requests finished by then have results (or an injected error), the rest are
expired or cancelled. Each request is answered once, by the same planning as a
live call (``SimState.plan``), so answers, token counts and faults agree with
the live endpoints. ``BatchSettings`` also injects the faults a client must
survive: failed requests, malformed and missing result lines, a lost output.
"""

from __future__ import annotations

import hashlib
import itertools
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from pytest_llmbench.sim.config import PRE_STREAM_FAULTS, BatchSettings
from pytest_llmbench.sim.state import Plan, SimError, SimRequest, SimState


@dataclass
class BatchItem:
    """One request of a job: the caller's id, its parsed request, its raw body."""

    custom_id: str
    request: SimRequest | None
    body: Any
    invalid: str | None = None  # why the line could not be read as a request


@dataclass
class Outcome:
    """What happened to one request: a plan (answered), an error, or not run."""

    item: BatchItem
    plan: Plan | None = None
    error: SimError | None = None
    not_run: str | None = None  # "expired" | "cancelled"
    malformed: bool = False
    missing: bool = False


@dataclass
class BatchJob:
    id: str
    kind: str  # "openai" | "anthropic" | "bedrock"
    items: list[BatchItem]
    settings: BatchSettings
    created: float = field(default_factory=time.time)
    cancelled_at: float | None = None
    meta: dict[str, Any] = field(default_factory=dict)
    _outcomes: dict[int, Outcome] = field(default_factory=dict)

    @property
    def in_progress_at(self) -> float:
        return self.created + self.settings.validate_s

    def done_at(self, index: int) -> float:
        step = self.settings.process_s / max(1, len(self.items))
        return self.in_progress_at + (index + 1) * step

    @property
    def finalizing_at(self) -> float:
        return self.in_progress_at + self.settings.process_s

    @property
    def completed_at(self) -> float:
        return self.finalizing_at + self.settings.finalize_s

    @property
    def expires_at(self) -> float:
        return self.created + self.settings.expire_s

    def cancel(self, now: float | None = None) -> None:
        if self.cancelled_at is None and self.ended_at(now) is None:
            self.cancelled_at = time.time() if now is None else now

    def stopped_at(self) -> float | None:
        """When processing stopped early (cancel or expiry), if it did."""
        stops = [t for t in (self.cancelled_at, self.expires_at) if t is not None
                 and t < self.finalizing_at]
        return min(stops) if stops else None

    def ended_at(self, now: float | None = None) -> float | None:
        now = time.time() if now is None else now
        stop = self.stopped_at()
        end = stop + self.settings.finalize_s if stop is not None else self.completed_at
        return end if now >= end else None

    def status(self, now: float | None = None) -> str:
        """validating | in_progress | finalizing | completed | cancelling | cancelled | expired."""
        now = time.time() if now is None else now
        stop = self.stopped_at()
        if stop is not None and now >= stop:
            why = "cancelled" if stop == self.cancelled_at else "expired"
            if now < stop + self.settings.finalize_s:
                return "cancelling" if why == "cancelled" else "finalizing"
            return why
        if now < self.in_progress_at:
            return "validating"
        if now < self.finalizing_at:
            return "in_progress"
        return "finalizing" if now < self.completed_at else "completed"

    def counts(self, state: SimState, now: float | None = None) -> dict[str, int]:
        """succeeded / errored / expired / cancelled / processing, as of ``now``."""
        now = time.time() if now is None else now
        out = dict.fromkeys(("succeeded", "errored", "expired", "cancelled", "processing"), 0)
        for index in range(len(self.items)):
            outcome = self.outcome(state, index, now)
            if outcome is None:
                out["processing"] += 1
            elif outcome.not_run:
                out[outcome.not_run] += 1
            elif outcome.error is not None:
                out["errored"] += 1
            else:
                out["succeeded"] += 1
        return out

    def outcome(self, state: SimState, index: int, now: float | None = None) -> Outcome | None:
        """The request's fate once known as of ``now`` (None while it is still queued)."""
        now = time.time() if now is None else now
        known = self._outcomes.get(index)
        if known is not None:
            return known
        stop = self.stopped_at()
        done = self.done_at(index)
        item = self.items[index]
        if stop is not None and done > stop:
            if now < stop:
                return None
            why = "cancelled" if stop == self.cancelled_at else "expired"
            outcome = Outcome(item, not_run=why)
        elif now < done:
            return None
        else:
            outcome = self._answer(state, item)
        self._outcomes[index] = outcome
        return outcome

    def _answer(self, state: SimState, item: BatchItem) -> Outcome:
        settings = self.settings
        outcome = Outcome(item)
        outcome.malformed = _drawn(self.id, item.custom_id, "malformed", settings.malformed_fraction)
        outcome.missing = _drawn(self.id, item.custom_id, "missing", settings.missing_fraction)
        if item.request is None:
            outcome.error = SimError("bad_request", item.invalid or "invalid request")
        elif _drawn(self.id, item.custom_id, "fail", settings.fail_fraction):
            outcome.error = SimError(settings.fail_kind,
                                     f"{settings.fail_kind.replace('_', ' ')} (injected batch fault)")
        else:
            try:
                plan = state.plan(item.request)
            except SimError as err:
                outcome.error = err
            else:
                if plan.fault in PRE_STREAM_FAULTS:
                    outcome.error = SimError(plan.fault, f"{plan.fault} (injected fault)")
                else:  # a mid-stream fault does not apply to a non-streamed answer
                    outcome.plan = plan
        return outcome

    def outcomes(self, state: SimState, now: float | None = None) -> list[Outcome]:
        """Every request's outcome (the job must have ended)."""
        now = time.time() if now is None else now
        return [o for i in range(len(self.items)) if (o := self.outcome(state, i, now)) is not None]

    def delivered(self, state: SimState) -> Iterator[tuple[int, Outcome]]:
        """(index, outcome) of each request whose result line is written: the injected
        missing lines are left out (the job must have ended)."""
        for index, outcome in enumerate(self.outcomes(state)):
            if not outcome.missing:
                yield index, outcome


def as_delivered(line: bytes, outcome: Outcome) -> bytes:
    """A result line as written: cut in half when the outcome was drawn malformed."""
    return line[: len(line) // 2] if outcome.malformed else line


def iso_time(stamp: float | None) -> str | None:
    """A Unix time as the ISO 8601 UTC string Anthropic and AWS send (``...Z``)."""
    if stamp is None:
        return None
    return datetime.fromtimestamp(stamp, UTC).isoformat().replace("+00:00", "Z")


def list_page(data: list[dict[str, Any]]) -> dict[str, Any]:
    """One page holding every job (newest first), with OpenAI's and Anthropic's cursors."""
    return {"data": data, "has_more": False, "first_id": data[0]["id"] if data else None,
            "last_id": data[-1]["id"] if data else None}


def key_error(state: SimState, key: str | None) -> str | None:
    """Why a batch call's API key is refused (the same rule as live calls), or None."""
    try:
        state.check_key(None, key)
    except SimError as err:
        return err.message
    return None


def _drawn(job_id: str, custom_id: str, what: str, fraction: float) -> bool:
    if fraction <= 0:
        return False
    digest = hashlib.sha256(f"{job_id}/{custom_id}/{what}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64 < fraction


@dataclass
class BatchStore:
    """Every job and uploaded file of one simulator, by id."""

    settings: BatchSettings = field(default_factory=BatchSettings)
    jobs: dict[str, BatchJob] = field(default_factory=dict)
    files: dict[str, dict[str, Any]] = field(default_factory=dict)
    objects: dict[tuple[str, str], tuple[bytes, float]] = field(default_factory=dict)
    ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    def new_id(self, prefix: str) -> str:
        return f"{prefix}{next(self.ids):06d}{hashlib.sha256(str(time.time_ns()).encode()).hexdigest()[:18]}"

    def add_job(self, kind: str, items: list[BatchItem], meta: dict[str, Any] | None = None,
                prefix: str = "batch_") -> BatchJob:
        job = BatchJob(self.new_id(prefix), kind, items, _copy(self.settings), meta=meta or {})
        self.jobs[job.id] = job
        return job

    def job(self, job_id: str, kind: str) -> BatchJob | None:
        """The job of one provider by id (another provider's jobs are not found)."""
        job = self.jobs.get(job_id)
        return job if job is not None and job.kind == kind else None

    def of_kind(self, kind: str) -> list[BatchJob]:
        """One provider's jobs, oldest first."""
        return [j for j in self.jobs.values() if j.kind == kind]


def _copy(settings: BatchSettings) -> BatchSettings:
    """Each job keeps the settings it was created under."""
    return BatchSettings(**settings.__dict__)
