"""Numeric answer extraction and comparison with a tolerance (GSM8K, MATH-style answers).

The answer is taken, in order, from the last ``\\boxed{}``, a GSM8K ``#### N``
line, an "the answer is N" statement, and finally the last number in the
text. Numbers may carry thousands separators, a sign (also U+2212), a
currency symbol, a unit or percent sign, a decimal or scientific exponent
(``1.5e3``, ``1.5 \\times 10^{3}``), or be fractions (``3/4``, ``1 1/2``,
``\\frac{3}{4}``). The expected answer is read the same way, so a GSM8K
solution ending in ``#### 72`` is a valid expected value.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

from pytest_llmbench.scoring.base import Score, Scorer, expected_values, register_scorer, verdict
from pytest_llmbench.scoring.reasoning import strip_thinking

_SIGN = r"(?:(?<![\w)\]}])(?P<sign>[-\u2212+]))?"
_CURRENCY = r"(?:[$\u00a3\u20ac\u00a5]\s?)?"
_PLAIN = r"(?:\d{1,3}(?:,\d{3})+(?!\d)|\d+)(?:\.\d+)?|\.\d+"
_NUMBER = re.compile(
    rf"{_SIGN}\s?{_CURRENCY}(?<![\w./])(?:"
    r"\\[dt]?frac\{\s*(?P<fn>-?\d+(?:\.\d+)?)\s*\}\{\s*(?P<fd>-?\d+(?:\.\d+)?)\s*\}"
    r"|(?P<whole>\d+)\s+(?P<mn>\d+)/(?P<md>\d+)(?![/\d])"
    r"|(?P<num>\d+(?:\.\d+)?)/(?P<den>\d+(?:\.\d+)?)(?![/\d])"
    rf"|(?P<plain>{_PLAIN})(?:[eE](?P<exp>[-+]?\d+))?"
    r"(?:\s*(?:\\times|\\cdot|\u00d7|\*)\s*10\s*\^\s*\{?\s*(?P<pow>[-+]?\d+)\s*\}?)?"
    r")(?![\d,]*\d|/\d)(?P<pct>\s?(?:\\?%|percent\b))?"
)
_GSM8K = re.compile(r"####\s*")
_STATED = re.compile(r"(?i:(?:final\s+)?answer(?:\s+(?:is|would\s+be|will\s+be|should\s+be))?"
                     r"|the\s+(?:result|total|solution)\s+is)\s*[:=]?\s*")
_BOX = re.compile(r"\\(?:boxed|fbox)\s*\{")


@dataclass(frozen=True)
class Number:
    """A number found in text: its value, as written, and whether it was a percentage."""

    value: float
    text: str
    percent: bool = False


def _value(m: re.Match[str]) -> float:
    if m.group("fn") is not None:
        value = float(m.group("fn")) / float(m.group("fd"))
    elif m.group("whole") is not None:
        value = int(m.group("whole")) + int(m.group("mn")) / int(m.group("md"))
    elif m.group("num") is not None:
        value = float(m.group("num")) / float(m.group("den"))
    else:
        value = float(m.group("plain").replace(",", ""))
        if m.group("exp"):
            value *= 10.0 ** int(m.group("exp"))
        if m.group("pow"):
            value *= 10.0 ** int(m.group("pow"))
    return -value if m.group("sign") in ("-", "\u2212") else value


def numbers(text: str) -> list[Number]:
    """Every number in ``text``, in order (a fraction by zero is skipped)."""
    found = []
    for m in _NUMBER.finditer(text):
        try:
            found.append(Number(_value(m), m.group(0).strip(), bool(m.group("pct"))))
        except ZeroDivisionError:
            continue
    return found


def _boxed(text: str) -> str | None:
    """The content of the last ``\\boxed{...}``, nested braces included."""
    starts = list(_BOX.finditer(text))
    if not starts:
        return None
    depth, begin = 1, starts[-1].end()
    for i in range(begin, len(text)):
        depth += {"{": 1, "}": -1}.get(text[i], 0)
        if depth == 0:
            return text[begin:i]
    return text[begin:]


def extract_number(response: str) -> tuple[Number | None, str | None]:
    """The answer's number and the rule that found it (``None, None`` when there is none)."""
    text = strip_thinking(response)
    boxed = _boxed(text)
    if boxed is not None:
        found = numbers(boxed)
        return (found[-1], "boxed") if found else (None, None)
    for rule, pattern in (("gsm8k", _GSM8K), ("stated", _STATED)):
        for marker in reversed(list(pattern.finditer(text))):
            tail = text[marker.end(): marker.end() + 80].split("\n", 1)[0]
            found = numbers(tail)
            if found:
                return found[0], rule
    found = numbers(text)
    return (found[-1], "last_number") if found else (None, None)


def _expected_numbers(value: Any, case_id: str) -> list[Number]:
    if isinstance(value, bool):
        raise ValueError(f"case {case_id}: expected answer {value!r} is not a number")
    if isinstance(value, int | float):
        return [Number(float(value), str(value))]
    number, _ = extract_number(str(value))
    if number is None:
        raise ValueError(f"case {case_id}: expected answer {value!r} has no number")
    return [number]


_PERCENT = ("number", "fraction", "either")


@register_scorer("numeric")
def numeric(rel_tol: float = 1e-9, abs_tol: float = 1e-9, percent: str = "number") -> Scorer:
    """Compare the extracted number to the expected one within ``rel_tol``/``abs_tol``.

    ``percent``: ``number`` reads "50%" as 50, ``fraction`` as 0.5, ``either``
    accepts both.
    """
    if percent not in _PERCENT:
        raise ValueError(f"percent must be one of {', '.join(_PERCENT)}")
    if rel_tol < 0 or abs_tol < 0:
        raise ValueError("rel_tol and abs_tol must be >= 0")

    def readings(number: Number) -> list[float]:
        if not number.percent or percent == "number":
            return [number.value]
        return [number.value / 100] if percent == "fraction" else [number.value,
                                                                   number.value / 100]

    def score(response: str, case: Any) -> Score:
        wanted = [n for e in expected_values(case) for n in _expected_numbers(e, case.id)]
        got, rule = extract_number(response)
        details: dict[str, Any] = {
            "extracted": got.text if got else None, "value": got.value if got else None,
            "rule": rule, "expected_normalised": [w.value for w in wanted],
            "extraction_failed": got is None}
        ok = got is not None and any(
            math.isclose(g, w, rel_tol=rel_tol, abs_tol=abs_tol)
            for g in readings(got) for want in wanted for w in readings(want))
        return verdict(ok, details)

    return score
