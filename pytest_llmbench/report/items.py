"""Records packed for report.html: compact rows in compressed, base64 chunks.

A report must open fast at 100,000 records, so items are not HTML: each record
becomes a JSON array (field order ``ITEM_FIELDS``, suite and model as indices),
``chunk_size`` of them are scrubbed, deflated and base64-encoded into one
chunk, and the page inflates chunks (``DecompressionStream``) only when the
items view is opened, rendering one page of rows at a time. Long texts are cut
to ``max_text`` characters; records.jsonl keeps them whole.
"""

from __future__ import annotations

import base64
import zlib
from collections.abc import Callable
from typing import Any

from pytest_llmbench.results.jsonl import dumps

ITEM_FIELDS = (
    "suite", "model", "case_id", "outcome", "score", "extraction_failed", "latency_s", "ttft_s",
    "output_tps", "input_tokens", "output_tokens", "cost_usd", "attempts", "error", "error_kind",
    "prompt", "response", "expected", "score_details", "reasoning", "finish_reason", "nodeid",
    "target", "metrics", "variant",
)
_SCALARS = frozenset((type(None), bool, int, float))
CHUNK_SIZE = 2000
MAX_TEXT = 4000
COMPRESS_LEVEL = 3  # zlib's fast strategy: 3x smaller than level 0 and quicker than 6


class ItemChunks:
    """Packs records as they arrive; ``chunks`` holds the finished base64 chunks."""

    def __init__(self, scrub: Callable[[str], str], *, chunk_size: int = CHUNK_SIZE,
                 max_text: int = MAX_TEXT) -> None:
        self.scrub = scrub
        self.chunk_size = chunk_size
        self.max_text = max_text
        self.suites: dict[str, int] = {}
        self.models: dict[str, int] = {}
        self.chunks: list[str] = []
        self.count = 0
        self._pending: list[list[Any]] = []

    def add(self, record: dict[str, Any]) -> None:
        get = record.get
        clip, nested = self._clip, self._nested
        self._pending.append([  # in ITEM_FIELDS order
            self.suites.setdefault(get("suite", ""), len(self.suites)),
            self.models.setdefault(get("model", ""), len(self.models)),
            get("case_id"), get("outcome"), get("score"), get("extraction_failed"),
            get("latency_s"), get("ttft_s"), get("output_tps"), get("input_tokens"),
            get("output_tokens"), get("cost_usd"), get("attempts"), clip(get("error")),
            get("error_kind"), self._prompt(get("prompt")), clip(get("response")),
            nested(get("expected")), nested(get("score_details")), clip(get("reasoning")),
            get("finish_reason"), get("nodeid"), get("target"), nested(get("metrics")), get("variant"),
        ])
        self.count += 1
        if len(self._pending) >= self.chunk_size:
            self._flush()

    def finish(self) -> list[str]:
        self._flush()
        return self.chunks

    def _flush(self) -> None:
        if not self._pending:
            return
        text = self.scrub(dumps(self._pending))
        packed = zlib.compress(text.encode("utf-8"), COMPRESS_LEVEL)
        self.chunks.append(base64.b64encode(packed).decode("ascii"))
        self._pending = []

    def _clip(self, value: Any) -> Any:
        if isinstance(value, str) and len(value) > self.max_text:
            return (value[:self.max_text]
                    + f"\u2026 [{len(value) - self.max_text} more characters in records.jsonl]")
        return value

    def _nested(self, value: Any, depth: int = 0) -> Any:
        kind = type(value)
        if kind in _SCALARS:
            return value
        if kind is str:
            return self._clip(value)
        if kind is dict and all(  # the common case, kept as is: flat and short
                type(v) in _SCALARS or (type(v) is str and len(v) <= self.max_text)
                for v in value.values()):
            return value
        if isinstance(value, dict) and depth < 4:
            return {str(k): self._nested(v, depth + 1) for k, v in value.items()}
        if isinstance(value, list) and depth < 4:
            return [self._nested(v, depth + 1) for v in value]
        if isinstance(value, dict | list):
            return self._clip(dumps(value))
        return self._clip(value)

    def _prompt(self, prompt: Any) -> Any:
        """Chat messages as ``[[role, text], ...]``; a plain prompt as its text."""
        if isinstance(prompt, list):
            out = []
            for message in prompt:
                if isinstance(message, dict):
                    content = message.get("content")
                    if not isinstance(content, str):
                        content = dumps(content)
                    out.append([str(message.get("role", "")), self._clip(content)])
                else:
                    out.append(["", self._clip(str(message))])
            return out
        return self._nested(prompt)


__all__ = ["CHUNK_SIZE", "ITEM_FIELDS", "MAX_TEXT", "ItemChunks"]
