"""Reasoning output: separate a model's thinking from its answer, and spot truncation.

Reasoning models write ``<think>...</think>`` (or ``<thinking>``,
``<reasoning>``) before the answer; a scorer must never extract from it (a
letter or number mentioned while thinking is not the answer). Chat templates
that open the block in the prompt leave only ``...</think>answer``; a response
cut off by ``max_tokens`` inside the block has no answer at all, which is an
extraction failure, not a wrong answer.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

_TAGS = "think|thinking|reasoning|thought"
_BLOCK = re.compile(rf"<({_TAGS})>.*?</\1>", re.DOTALL | re.IGNORECASE)
_OPEN = re.compile(rf"<({_TAGS})>", re.IGNORECASE)
_CLOSE = re.compile(rf"</({_TAGS})>", re.IGNORECASE)

TRUNCATION_REASONS = frozenset({"length", "max_tokens", "max_output_tokens",
                                "model_length", "max_completion_tokens"})


@dataclass(frozen=True)
class Split:
    """A response split into the answer and the thinking removed from it."""

    answer: str
    thinking: str = ""
    unclosed: bool = False  # the thinking never ended: there is no answer


def split_reasoning(text: str) -> Split:
    """Remove thinking blocks; an unclosed block runs to the end, an orphan close tag
    means everything before it was thinking."""
    if "<" not in text:  # the common case: no tags at all
        return Split(text)
    removed: list[str] = []

    def cut(match: re.Match[str]) -> str:
        removed.append(match.group(0))
        return ""

    answer = _BLOCK.sub(cut, text)
    unclosed = False
    closes = list(_CLOSE.finditer(answer))
    if closes:  # "...</think>answer": the opening tag was in the prompt template
        last = closes[-1]
        removed.append(answer[: last.end()])
        answer = answer[last.end():]
    opened = _OPEN.search(answer)
    if opened:
        removed.append(answer[opened.start():])
        answer = answer[: opened.start()]
        unclosed = True
    return Split(answer.strip() if removed else answer, "".join(removed), unclosed)


def strip_thinking(text: str) -> str:
    return split_reasoning(text).answer


def is_truncated(finish_reason: str | None) -> bool:
    """Whether the provider stopped the answer at the token limit (any provider's word)."""
    return (finish_reason or "").lower() in TRUNCATION_REASONS


def prepare_answer(completion: Any) -> tuple[str, dict[str, Any]]:
    """The text to score and the notes that go into the score's details.

    A provider that returns reasoning separately (``completion.reasoning``) has
    already kept it out of ``text``; it is counted, never scored.
    """
    split = split_reasoning(completion.text or "")
    notes: dict[str, Any] = {"truncated": is_truncated(completion.finish_reason)}
    if split.thinking:
        notes["thinking_chars"] = len(split.thinking)
    if split.unclosed:
        notes["thinking_unclosed"] = True
    reasoning = getattr(completion, "reasoning", None)
    if reasoning:
        notes["reasoning_chars"] = len(str(reasoning))
    return split.answer, notes
