"""Text-matching scorers: exact (normalised), contains and regex with a capture group."""

from __future__ import annotations

import re
import string
from typing import Any

from pytest_llmbench.scoring.base import Score, Scorer, register_scorer
from pytest_llmbench.suites.model import Case

_THINK = re.compile(r"<think>.*?</think>", re.DOTALL | re.IGNORECASE)
_EDGE_PUNCT = string.punctuation.replace("-", "").replace("+", "")


def normalise(text: str, *, ignore_case: bool = True, strip_punctuation: bool = False) -> str:
    text = _THINK.sub("", text)
    text = " ".join(text.split())
    if ignore_case:
        text = text.casefold()
    if strip_punctuation:
        text = text.strip(_EDGE_PUNCT + " ")
    return text


def _expected(case: Case) -> list[str]:
    value = case.expected
    values = value if isinstance(value, list) else [value]
    return [str(v) for v in values if v is not None]


@register_scorer("exact")
def exact(ignore_case: bool = True, strip_punctuation: bool = True) -> Scorer:
    def score(response: str, case: Case) -> Score:
        got = normalise(response, ignore_case=ignore_case, strip_punctuation=strip_punctuation)
        wanted = [normalise(e, ignore_case=ignore_case, strip_punctuation=strip_punctuation)
                  for e in _expected(case)]
        ok = got in wanted
        return Score(1.0 if ok else 0.0, ok, {"extracted": got, "extraction_failed": not got})

    return score


@register_scorer("contains")
def contains(ignore_case: bool = True) -> Scorer:
    def score(response: str, case: Case) -> Score:
        got = normalise(response, ignore_case=ignore_case)
        hit = next((e for e in _expected(case) if normalise(e, ignore_case=ignore_case) in got),
                   None)
        return Score(1.0 if hit is not None else 0.0, hit is not None,
                     {"matched": hit, "extraction_failed": not got})

    return score


@register_scorer("regex")
def regex(pattern: str, group: int | str = 1, ignore_case: bool = True,
          last: bool = True) -> Scorer:
    """Extract with ``pattern`` (the last match by default) and compare to expected."""
    compiled = re.compile(pattern, re.IGNORECASE if ignore_case else 0)

    def score(response: str, case: Case) -> Score:
        matches = list(compiled.finditer(_THINK.sub("", response)))
        details: dict[str, Any] = {"pattern": pattern}
        if not matches:
            details.update(extracted=None, extraction_failed=True)
            return Score(0.0, False, details)
        match = matches[-1] if last else matches[0]
        extracted = match.group(group if compiled.groups else 0).strip()
        wanted = [normalise(e, ignore_case=ignore_case) for e in _expected(case)]
        ok = normalise(extracted, ignore_case=ignore_case) in wanted
        details.update(extracted=extracted, extraction_failed=False)
        return Score(1.0 if ok else 0.0, ok, details)

    return score
