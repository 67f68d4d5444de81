"""Thinking is stripped before extraction; truncation is recognised for every provider."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from pytest_llmbench.providers.base import Completion
from pytest_llmbench.scoring.reasoning import is_truncated, prepare_answer, split_reasoning


@pytest.mark.parametrize(("text", "answer", "unclosed"), [
    ("<think>A or B?</think>The answer is C", "The answer is C", False),
    ("<thinking>\nlong\n</thinking>\n\nC", "C", False),
    ("<THINK>x</THINK>C", "C", False),
    ("<reasoning>x</reasoning>C", "C", False),
    ("<think>a</think>B<think>b</think>C", "BC", False),
    ("Okay, so maybe B...</think>\nC", "C", False),  # opening tag was in the template
    ("<think>I am still thinking about B", "", True),  # cut off while thinking
    ("C <think>afterthought", "C", True),
    ("plain answer", "plain answer", False),
    ("  spaced  ", "  spaced  ", False),  # untouched without thinking
])
def test_split_reasoning(text: str, answer: str, unclosed: bool) -> None:
    split = split_reasoning(text)
    assert (split.answer, split.unclosed) == (answer, unclosed)


@pytest.mark.parametrize(("reason", "truncated"), [
    ("length", True), ("max_tokens", True), ("MAX_TOKENS", True), ("stop", False),
    ("end_turn", False), (None, False), ("content_filter", False)])
def test_truncation_reasons(reason: str | None, truncated: bool) -> None:
    assert is_truncated(reason) is truncated


def test_prepare_answer_notes() -> None:
    text, notes = prepare_answer(Completion(text="<think>hmm</think>C", finish_reason="stop"))
    assert text == "C" and notes == {"truncated": False, "thinking_chars": 18}
    text, notes = prepare_answer(Completion(text="<think>hm", finish_reason="length"))
    assert text == "" and notes["truncated"] and notes["thinking_unclosed"]
    # a provider that returns reasoning separately: counted, never scored
    separate = SimpleNamespace(text="C", finish_reason="stop", reasoning="B? no, C")
    assert prepare_answer(separate) == ("C", {"truncated": False, "reasoning_chars": 8})
