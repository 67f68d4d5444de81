"""Is a line read back from records.jsonl a record? One reason when it is not.

Run files are edited, truncated, merged and copied by hand; a line that is JSON but not
a record must be skipped with its file and line named, never crash a reader later.
"""

from __future__ import annotations

from typing import Any

from pytest_llmbench.results.record import OUTCOMES

_TEXT = ("suite", "model")  # what every reader groups by
_OPTIONAL_TEXT = ("nodeid", "case_id", "run_id", "provider", "target", "variant", "error",
                  "error_kind", "response",
                  "finish_reason", "reasoning", "worker")
_NUMBERS = ("score", "input_tokens", "output_tokens", "ttft_s", "latency_s", "output_tps",
            "attempts", "calls", "cached_calls", "cost_usd", "reasoning_tokens",
            "reasoning_ttft_s", "judge_cost_usd", "started_at", "finished_at", "duration_s")
_MAPPINGS = ("score_details", "metrics", "params")


def record_problem(value: Any, required: tuple[str, ...] = ()) -> str | None:
    """None for a usable record, else why not (``'nodeid' is missing``). ``required``
    adds fields a reader cannot do without (resume: ``nodeid``)."""
    if not isinstance(value, dict):
        return f"not a record (a JSON {_json_type(value)}, not an object)"
    for name in (*_TEXT, *required):
        if name not in value:
            return f"not a record ({name!r} is missing)"
        if not isinstance(value[name], str) or not value[name]:
            return f"{name!r} must be a non-empty string, not {_json_type(value[name])}"
    if value.get("outcome") not in OUTCOMES:
        return f"'outcome' must be one of {', '.join(OUTCOMES)}, not {value.get('outcome')!r}"
    for name in _OPTIONAL_TEXT:
        if value.get(name) is not None and not isinstance(value[name], str):
            return f"{name!r} must be a string, not {_json_type(value[name])}"
    for name in _NUMBERS:
        item = value.get(name)
        if item is not None and (isinstance(item, bool) or not isinstance(item, int | float)):
            return f"{name!r} must be a number, not {_json_type(item)}"
    for name in _MAPPINGS:
        if value.get(name) is not None and not isinstance(value[name], dict):
            return f"{name!r} must be an object, not {_json_type(value[name])}"
    return None


def _json_type(value: Any) -> str:
    names = {dict: "object", list: "array", str: "string", bool: "boolean", type(None): "null"}
    return names.get(type(value), "number" if isinstance(value, int | float) else "value")
