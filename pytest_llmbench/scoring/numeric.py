"""Numeric answer extraction and comparison (GSM8K, MATH/AIME-style answers).

The answer is taken, in order, from the last ``\\boxed{}``, a GSM8K ``#### N``
line, an "the answer is N" statement (a later self-correction such as "Wait,
no, 14" wins over it), and finally the last number in the text. Plain numbers
may carry thousands separators (``,``, a space, a thin or no-break space,
LaTeX ``\\,`` or ``{,}``; always groups of three), a sign (also U+2212), a
currency symbol, a unit or percent sign, a decimal or scientific exponent
(``1.5e3``, ``1.5 \\times 10^{3}``), or be fractions (``3/4``, ``1 1/2``,
``\\frac{3}{4}``). Digits joined by a comma that is not a thousands separator
(``3,5``, ``1,2,3``) are ambiguous (a decimal comma or a list) and read as no
number at all, never as 3.5 nor as 5.

An answer that is an expression rather than a plain number (``\\sqrt{2}``,
``3\\pi``, ``2^3``, ``10^6``), or an expected answer that is one, is compared
by ``math-verify`` (HuggingFace's MATH grader, the ``math`` extra): symbolic
equivalence, never the expression's last digit. The record keeps the extracted
answer and the rule that decided.
"""

from __future__ import annotations

import math
import re
import threading
from dataclasses import dataclass
from typing import Any

from pytest_llmbench.scoring.base import Score, Scorer, expected_values, register_scorer, verdict
from pytest_llmbench.scoring.reasoning import strip_thinking

_SIGN = r"(?:(?<![\w)\]}])(?P<sign>[-\u2212+]))?"
_CURRENCY = r"(?:[$\u00a3\u20ac\u00a5]\s?)?"
_SEPARATORS = ",\u2009\u202f\u00a0 "
_PLAIN = (rf"(?:\d{{1,3}}(?P<sep>[{_SEPARATORS}])\d{{3}}(?:(?P=sep)\d{{3}})*(?!\d)|\d+)"
          r"(?:\.\d+)?|\.\d+")
_NUMBER = re.compile(
    rf"{_SIGN}\s?{_CURRENCY}(?<![\w./])(?<!\d,)(?:"
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
# a self-correction after the stated answer: the number after the last cue wins
_CORRECTION = re.compile(r"(?i)\b(?:wait|actually|correction|sorry|oops|i\s+mean|scratch\s+that|"
                         r"rather|no)\b[\s,:;.!\u2014-]")
_BOX = re.compile(r"\\(?:boxed|fbox)\s*\{")
_RESTATE = re.compile(r"(?i)\s*(?:it'?s|it\s+is|make\s+(?:it|that)|the\s+answer\s+is|answer\s*:)?\s*")
_CLOSES = re.compile(r"\s*(?:\^|\\|$|[.,;:!?)]|[A-Za-z]+\s*(?:$|[.,;:!?)]))")
# an operator or constant touching a number makes it part of an expression
_EXPR_AFTER = re.compile(r"\s*(?:\^|\*\*|\\pi|\u03c0|\\sqrt|\u221a|\\sqrt|\\cdot\s*\\|!(?!\s*$|\s))")
_EXPR_BEFORE = re.compile(r"(?:\\sqrt\s*\{|\\sqrt\s*|\u221a\s*|\^\s*\{?|\*\*\s*|\\pi\s*)$")
_EXPR_CHARS = re.compile(r"[\w\\{}^*()+\-/.\u03c0\u221a]+")
_UNIT_WRAP = re.compile(r"\\(?:text|mathrm|mbox|textbf)\s*\{[^{}]*\}|\^\s*\{?\\circ\}?|\\[!,;: ]|"
                        r"\\?\$|\\left|\\right|\\displaystyle")


@dataclass(frozen=True)
class Number:
    """A number found in text: its value, as written, and whether it was a percentage."""

    value: float
    text: str
    percent: bool = False


@dataclass(frozen=True)
class Answer:
    """What the response answers: a plain number, or an expression for math-verify."""

    text: str
    rule: str
    number: Number | None = None  # None: an expression


def _normalise(text: str) -> str:
    """LaTeX thousands separators (``1\\,234``, ``1{,}234``) as the plain ones."""
    return text.replace("{,}", ",").replace("\\,", "\u2009")


def _value(m: re.Match[str]) -> float:
    if m.group("fn") is not None:
        value = float(m.group("fn")) / float(m.group("fd"))
    elif m.group("whole") is not None:
        value = int(m.group("whole")) + int(m.group("mn")) / int(m.group("md"))
    elif m.group("num") is not None:
        value = float(m.group("num")) / float(m.group("den"))
    else:
        plain = m.group("plain")
        for sep in _SEPARATORS:
            plain = plain.replace(sep, "")
        value = float(plain)
        if m.group("exp"):
            value *= 10.0 ** int(m.group("exp"))
        if m.group("pow"):
            value *= 10.0 ** int(m.group("pow"))
    return -value if m.group("sign") in ("-", "\u2212") else value


def _matches(text: str) -> list[tuple[re.Match[str], Number]]:
    found = []
    for m in _NUMBER.finditer(text):
        try:
            found.append((m, Number(_value(m), m.group(0).strip(), bool(m.group("pct")))))
        except (ZeroDivisionError, OverflowError):
            continue
    return found


def numbers(text: str) -> list[Number]:
    """Every number in ``text``, in order (a fraction by zero is skipped)."""
    return [n for _, n in _matches(_normalise(text))]


def _expression_at(text: str, m: re.Match[str]) -> str | None:
    """The expression this number is part of (``10^6``, ``3\\pi``), or None for a plain number."""
    if not (_EXPR_AFTER.match(text, m.end()) or _EXPR_BEFORE.search(text[: m.start()])):
        return None
    start, end = m.start(), m.end()
    while start > 0 and _EXPR_CHARS.fullmatch(text[start - 1]):
        start -= 1
    tail = _EXPR_CHARS.match(text, end)
    if tail:
        end = tail.end()
    span = text[start:end].strip().rstrip(".,;:")
    return span or None


def _answer_in(text: str, rule: str, last: bool) -> Answer | None:
    found = _matches(text)
    if not found:
        return None
    m, number = found[-1] if last else found[0]
    expression = _expression_at(text, m)
    return Answer(expression, rule) if expression else Answer(number.text, rule, number)


def _plain(content: str) -> Number | None:
    """The single plain number ``content`` is (units, ``$`` and spacing aside), else None."""
    stripped = _UNIT_WRAP.sub(" ", content)
    found = _matches(stripped)
    if len(found) != 1:
        return None
    m, number = found[0]
    residue = (stripped[: m.start()] + stripped[m.end():]).strip()
    if re.search(r"[\\^_{}=*/!A-Za-z\d\u03c0\u221a]", residue) or _expression_at(stripped, m):
        return None
    return number


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


def _corrected(text: str, after: int) -> Answer | None:
    """A self-correction after the stated answer ("Wait, no, 14."): the last cue's number."""
    cues = list(_CORRECTION.finditer(text, after))
    for cue in reversed(cues):
        window = text[cue.end(): cue.end() + 60].split("\n", 1)[0]
        window = window[_RESTATE.match(window).end():]  # type: ignore[union-attr]
        found = _matches(window)
        # the number must open the correction and end it (one unit word at most):
        # "Wait, no, 14." / "Actually, it is 14 apples." but not "Actually, 3 of them are red"
        if found and found[0][0].start() == 0 and _CLOSES.match(window, found[0][0].end()):
            m, number = found[0]
            expression = _expression_at(window, m)
            return (Answer(expression, "self_correction") if expression
                    else Answer(number.text, "self_correction", number))
    return None


def extract_answer(response: str) -> Answer | None:
    """The answer (a plain number or an expression) and the rule that found it."""
    text = _normalise(strip_thinking(response))
    boxed = _boxed(text)
    if boxed is not None:
        number = _plain(boxed)
        if number is not None:
            return Answer(number.text, "boxed", number)
        content = boxed.strip()
        return Answer(content, "boxed_expression") if content else None
    for rule, pattern in (("gsm8k", _GSM8K), ("stated", _STATED)):
        for marker in reversed(list(pattern.finditer(text))):
            line = text[marker.end(): marker.end() + 80].split("\n", 1)[0]
            found = _answer_in(line, rule, last=False)
            if found:
                end = marker.end() + line.find(found.text) + len(found.text)
                return _corrected(text, end) or found
    return _answer_in(text, "last_number", last=True)


def extract_number(response: str) -> tuple[Number | None, str | None]:
    """The answer's plain number and its rule (``None, None`` when there is none or it is an
    expression)."""
    answer = extract_answer(response)
    if answer is None or answer.number is None:
        return None, None
    return answer.number, answer.rule


def _expected(value: Any, case_id: str) -> Answer:
    if isinstance(value, bool):
        raise ValueError(f"case {case_id}: expected answer {value!r} is not a number")
    if isinstance(value, int | float):
        return Answer(str(value), "expected", Number(float(value), str(value)))
    text = str(value).strip()
    number = _plain(_normalise(text))
    if number is not None:
        return Answer(text, "expected", number)
    marked = _BOX.search(text) or _GSM8K.search(text) or _STATED.search(text)
    if not marked and re.search(r"[\\^{}=*/\u03c0\u221a]", text):
        return Answer(text, "expected")  # the whole value is an expression
    answer = extract_answer(text)
    if answer is None:
        raise ValueError(f"case {case_id}: expected answer {value!r} has no number")
    return answer


_TOO_BIG = re.compile(r"\^\s*\{?[^{}]*\^|\^\s*\{?\s*\d{4,}")  # towers / huge powers


def math_equal(expected: str, answer: str) -> tuple[bool, str | None]:
    """Symbolic equivalence by math-verify; (False, reason) when it cannot decide."""
    if _TOO_BIG.search(answer) or len(answer) > 500:
        return False, "expression too large to verify"
    try:
        from math_verify import parse, verify  # noqa: PLC0415 - optional, sympy is heavy
    except ImportError:
        return False, "expression answers need pip install 'pytest-llmbench[math]'"
    main = threading.current_thread() is threading.main_thread()
    timeout = 5 if main else None  # math-verify's timeout is a SIGALRM: main thread only

    def parsed(text: str) -> list[Any]:
        wrapped = text if "$" in text or "\\boxed" in text else f"${text}$"
        return list(parse(wrapped, parsing_timeout=timeout) or parse(text, parsing_timeout=timeout))

    gold, target = parsed(expected), parsed(answer)
    if not gold:
        return False, f"math-verify cannot read the expected answer {expected!r}"
    if not target:
        return False, f"math-verify cannot read the answer {answer!r}"
    return bool(verify(gold, target, timeout_seconds=timeout)), None


_PERCENT = ("number", "fraction", "either")


@register_scorer("numeric")
def numeric(rel_tol: float = 1e-9, abs_tol: float = 1e-9, percent: str = "number") -> Scorer:
    """Compare the extracted answer to the expected one within ``rel_tol``/``abs_tol``
    (plain numbers) or by symbolic equivalence (expressions).

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
        wanted = [_expected(e, case.id) for e in expected_values(case)]
        got = extract_answer(response)
        details: dict[str, Any] = {
            "extracted": got.text if got else None,
            "value": got.number.value if got and got.number else None,
            "rule": got.rule if got else None,
            "expected_normalised": [w.number.value if w.number else w.text for w in wanted],
            "extraction_failed": got is None}
        ok = False
        if got is not None:
            for want in wanted:
                if got.number is not None and want.number is not None:
                    ok = any(math.isclose(g, w, rel_tol=rel_tol, abs_tol=abs_tol)
                             for g in readings(got.number) for w in readings(want.number))
                    details["decided_by"] = "number"
                else:
                    ok, reason = math_equal(want.text, got.text)
                    details["decided_by"] = "math_verify"
                    if reason:
                        details["reason"] = reason
                if ok:
                    break
        return verdict(ok, details)

    return score
