"""Per-server state and the plan for one request: what to say, when, and what breaks.

Provider modules turn their wire format into a ``SimRequest``; ``SimState.plan``
turns that into a ``Plan`` (the token pieces, their send offsets from the
moment the model starts, and the fault, if any). Planning is plain Python so
it can be tested without a server, and all latency arithmetic is done here
once, leaving the streaming loop only "sleep until deadline, send".
"""

from __future__ import annotations

import asyncio
import itertools
import random
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from pytest_llmbench.sim.answers import AnswerKey, answer_for, load_answer_key
from pytest_llmbench.sim.config import (
    FAULT_KINDS,
    MID_STREAM_FAULTS,
    REASONING_TEXT,
    ModelProfile,
    SimConfig,
    strip_prefix,
)
from pytest_llmbench.sim.metrics import Metrics
from pytest_llmbench.sim.tokens import split_tokens

CASE_HEADER = "x-llmbench-case"
FAULT_HEADER = "x-llmbench-fault"
SAMPLE_HEADER = "x-llmbench-sample"


def sample_of(headers: Any) -> int:
    """The sample index from its header; anything but a non-negative integer is 0."""
    value = headers.get(SAMPLE_HEADER)
    return int(value) if isinstance(value, str) and value.isdigit() else 0


class SimError(Exception):
    """A request the simulator answers with an error; ``kind`` picks the envelope."""

    def __init__(self, kind: str, message: str, param: str | None = None) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message
        self.param = param


@dataclass
class SimRequest:
    """A provider-neutral view of one generation request."""

    model: str
    prompt: str
    input_tokens: int
    max_tokens: int | None
    stream: bool
    api_key: str | None
    case_id: str | None = None
    forced_fault: str | None = None
    echo: str | None = None  # what the echo policy says back: the last user turn
    include_usage: bool = False  # OpenAI stream_options.include_usage
    sample: int = 0  # which of several samples of one case (x-llmbench-sample)
    ignore_eos: bool = False  # vLLM's switch: generate exactly max_tokens (OpenAI wire only)
    echoed: dict[str, Any] | None = None  # request fields a Responses API answer repeats


@dataclass
class Plan:
    """What one request will get; offsets are seconds after the model starts."""

    profile: ModelProfile
    request: SimRequest
    pieces: list[str]
    offsets: list[float]
    finish: str  # "stop" or "length"
    fault: str | None = None
    fault_after: int = 0
    request_id: str = ""
    right: bool | None = None
    ttft: float = 0.0
    reasoning: int = 0  # the first ``reasoning`` pieces are thinking, not the answer

    @property
    def text(self) -> str:
        return "".join(self.pieces[self.reasoning:])

    @property
    def reasoning_text(self) -> str:
        return "".join(self.pieces[:self.reasoning])

    @property
    def output_tokens(self) -> int:
        return len(self.pieces)

    @property
    def duration(self) -> float:
        """Seconds from model start to the last token (TTFT when nothing is said)."""
        return self.offsets[-1] if self.offsets else self.ttft


class Gate:
    """A model's concurrency limit; requests over it wait, as on a saturated server."""

    def __init__(self, limit: int | None, max_queue: int | None) -> None:
        self.limit = limit
        self.max_queue = max_queue
        self.active = 0
        self.waiting = 0
        self._sem = asyncio.Semaphore(limit) if limit else None

    @property
    def full(self) -> bool:
        return self.limit is not None and self.active >= self.limit

    def would_overflow(self) -> bool:
        return self.full and self.max_queue is not None and self.waiting >= self.max_queue

    async def enter(self) -> None:
        if self._sem is not None:
            if self._sem.locked():
                self.waiting += 1
                try:
                    await self._sem.acquire()
                finally:
                    self.waiting -= 1
            else:
                await self._sem.acquire()
        self.active += 1

    def leave(self) -> None:
        self.active -= 1
        if self._sem is not None:
            self._sem.release()


@dataclass
class SimState:
    """Config, answer key, metrics, per-model gates and random streams."""

    config: SimConfig
    answer_key: AnswerKey = field(default_factory=AnswerKey)
    metrics: Metrics = field(default_factory=Metrics)
    gates: dict[str, Gate] = field(default_factory=dict)
    rngs: dict[str, random.Random] = field(default_factory=dict)
    ids: itertools.count[int] = field(default_factory=itertools.count)
    seen: Counter[tuple[str, str]] = field(default_factory=Counter)
    batches: Any = None
    """The batch endpoints' jobs, files and S3 objects (``sim.batch_jobs.BatchStore``),
    made with the app."""

    @classmethod
    def from_config(cls, config: SimConfig) -> SimState:
        return cls(config=config, answer_key=load_answer_key(config.answer_keys))

    def profile(self, name: str) -> ModelProfile:
        profile = self.config.model(name)
        if profile is None:
            raise SimError("not_found", f"model {strip_prefix(name)!r} is not simulated; "
                           f"known: {', '.join(sorted(self.config.models))}")
        return profile

    def gate(self, profile: ModelProfile) -> Gate:
        gate = self.gates.get(profile.name)
        if gate is None:
            gate = self.gates[profile.name] = Gate(profile.max_concurrency, profile.max_queue)
        return gate

    def rng(self, profile: ModelProfile) -> random.Random:
        rng = self.rngs.get(profile.name)
        if rng is None:
            seed = self.config.seed if profile.seed is None else profile.seed
            rng = self.rngs[profile.name] = random.Random(f"{seed}:{profile.name}")
        return rng

    def check_key(self, profile: ModelProfile | None, key: str | None) -> None:
        """Reject a bad key: the model's own key if it has one, else the bad-key list."""
        if profile is not None and profile.api_key is not None:
            if key != profile.api_key:
                raise SimError("auth", f"invalid API key for model {profile.name!r}")
            return
        if not key:
            if self.config.require_key:
                raise SimError("auth", "missing API key")
            return
        prefixes = self.config.bad_key_prefixes
        if key in self.config.bad_keys or any(key.startswith(p) for p in prefixes):
            raise SimError("auth", f"invalid API key {_mask(key)}")

    def plan(self, req: SimRequest) -> Plan:
        """Decide the answer, its timing and any fault for one request."""
        known = self.config.model(req.model)
        self.check_key(known, req.api_key)
        profile = self.profile(req.model)
        rng = self.rng(profile)
        fault = req.forced_fault
        if fault is not None and fault not in FAULT_KINDS:
            raise SimError("bad_request", f"{FAULT_HEADER}: unknown fault {fault!r}; "
                           f"known: {', '.join(FAULT_KINDS)}")
        if fault is None and profile.fail_first:
            asked = (profile.name, req.case_id or req.prompt)
            self.seen[asked] += 1
            if self.seen[asked] <= profile.fail_first:
                fault = profile.fail_first_kind
        if fault is None and profile.errors:
            draw = rng.random()
            for kind, rate in profile.errors.items():
                if draw < rate:
                    fault = kind
                    break
                draw -= rate
        answer = answer_for(profile, self.answer_key, self.config.seed, req.case_id, req.prompt,
                            req.echo, sample=req.sample)
        pieces = split_tokens(answer.text)
        finish = "stop"
        if profile.until_max_tokens or (req.ignore_eos and req.max_tokens):
            want = req.max_tokens or profile.default_max_tokens
            pieces = _fit(pieces, want)
        elif profile.output_tokens is not None:
            pieces = _fit(pieces, max(0, round(profile.output_tokens.sample(rng))))
        thinking = _thinking(profile, rng)
        reasoning = len(thinking)
        if profile.reasoning_format == "think_tags" and thinking:
            thinking = split_tokens("<think>") + thinking + split_tokens("</think>\n\n")
            reasoning = 0  # the tags and the thinking are part of the content
        pieces = thinking + pieces
        if req.max_tokens is not None and (len(pieces) > req.max_tokens or req.ignore_eos):
            pieces = pieces[: max(0, req.max_tokens)]
            reasoning = min(reasoning, len(pieces))
            finish = "length"
        ttft = profile.ttft_ms.sample(rng) / 1000.0
        offsets = _offsets(ttft, len(pieces), profile, rng)
        fault_after = profile.fault_after if profile.fault_after is not None else len(pieces) // 2
        return Plan(profile=profile, request=req, pieces=pieces, offsets=offsets, finish=finish,
                    fault=fault, fault_after=min(fault_after, len(pieces)),
                    request_id=f"{next(self.ids):08d}{rng.getrandbits(48):012x}",
                    right=answer.right, ttft=ttft, reasoning=reasoning)


def _thinking(profile: ModelProfile, rng: random.Random) -> list[str]:
    """The thinking tokens a reasoning profile streams before its answer."""
    if profile.reasoning_tokens is None:
        return []
    n = max(0, round(profile.reasoning_tokens.sample(rng)))
    return _fit(split_tokens(REASONING_TEXT), n) if n else []


def _fit(pieces: list[str], n: int) -> list[str]:
    """Exactly ``n`` pieces: cut, or repeat the text (space-separated) to fill."""
    if n <= len(pieces):
        return pieces[:n]
    filler = split_tokens(" " + "".join(pieces)) if pieces else split_tokens(" lorem ipsum")
    out = list(pieces) or split_tokens("lorem")
    while len(out) < n:
        out.extend(filler[: n - len(out)])
    return out


def _offsets(ttft: float, n: int, profile: ModelProfile, rng: random.Random) -> list[float]:
    itl = profile.itl_ms
    if itl.is_fixed:
        step = itl.a / 1000.0
        return [ttft + i * step for i in range(n)]
    out, t = [], ttft
    for i in range(n):
        if i:
            t += itl.sample(rng) / 1000.0
        out.append(t)
    return out


def is_mid_stream(kind: str | None) -> bool:
    return kind in MID_STREAM_FAULTS


def _mask(key: str) -> str:
    return key[:3] + "..." + key[-2:] if len(key) > 8 else "***"
