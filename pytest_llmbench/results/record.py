"""Record: one test's result, JSON-serialisable and versioned.

Records travel from xdist workers to the controller as plain builtins on the
test report, so every field is a str, number, bool, None, list or dict.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any

SCHEMA_VERSION = 1
OUTCOMES = ("passed", "failed", "error", "skipped")


@dataclass
class Record:
    run_id: str
    nodeid: str
    suite: str
    case_id: str
    model: str
    outcome: str = "passed"
    provider: str = ""
    target: str | None = None
    variant: str | None = None  # the suite's prompt variant, when it declares variants
    score: float | None = None
    score_details: dict[str, Any] = field(default_factory=dict)
    extraction_failed: bool = False
    truncated: bool = False
    error: str | None = None
    error_kind: str | None = None
    prompt: Any = None
    response: str | None = None
    expected: Any = None
    input_tokens: int | None = None
    output_tokens: int | None = None
    tokens_estimated: bool = False
    ttft_s: float | None = None
    latency_s: float | None = None
    output_tps: float | None = None
    finish_reason: str | None = None
    attempts: int = 0
    calls: int = 0
    cached_calls: int = 0
    cost_usd: float | None = None
    reasoning: str | None = None
    reasoning_tokens: int | None = None
    reasoning_tokens_estimated: bool = False
    reasoning_ttft_s: float | None = None
    judge_cost_usd: float | None = None  # what scoring calls (an LLM judge) cost, apart
    batch: bool = False  # answered by a provider batch: no latency, TTFT or tokens/s
    cost_basis: str | None = None  # how cost_usd was priced when not at the live price
    metrics: dict[str, Any] = field(default_factory=dict)
    params: dict[str, Any] = field(default_factory=dict)
    started_at: float | None = None
    finished_at: float | None = None
    duration_s: float | None = None
    worker: str = "main"
    schema: int = SCHEMA_VERSION

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)  # the fields, in FIELD_NAMES order (set only by __init__)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Record:
        return cls(**{k: v for k, v in data.items() if k in FIELD_SET})


FIELD_NAMES = tuple(f.name for f in fields(Record))
FIELD_SET = frozenset(FIELD_NAMES)


def is_serving(record: dict[str, Any]) -> bool:
    """A serving point's record (its figures under ``metrics``; it passes on its SLOs)."""
    metrics = record.get("metrics")
    return isinstance(metrics, dict) and metrics.get("kind") == "serving"
