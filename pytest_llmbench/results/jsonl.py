"""Fast JSON for the per-record path: records.jsonl lines, CSV cells, report items.

orjson is several times quicker than the standard library on a record, which
matters at 10,000 records a run. Output matches ``json.dumps(ensure_ascii=False,
default=str)`` except that NaN and infinities become ``null`` (valid JSON) and
non-string keys become strings. Integers beyond 64 bits fall back to ``json``.
"""

from __future__ import annotations

import json
from typing import Any

import orjson

_OPTIONS = orjson.OPT_NON_STR_KEYS


def dumps(value: Any) -> str:
    """One compact JSON text (UTF-8 characters kept, unknown objects as ``str``)."""
    try:
        return orjson.dumps(value, default=str, option=_OPTIONS).decode("utf-8")
    except TypeError:
        return json.dumps(value, ensure_ascii=False, default=str, separators=(",", ":"))


def dump_line(value: Any) -> bytes:
    """One JSON Lines line, UTF-8 encoded, newline included."""
    try:
        return orjson.dumps(value, default=str, option=_OPTIONS | orjson.OPT_APPEND_NEWLINE)
    except TypeError:
        return (json.dumps(value, ensure_ascii=False, default=str) + "\n").encode("utf-8")
