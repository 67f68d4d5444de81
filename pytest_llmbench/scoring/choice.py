"""Multiple-choice letter extraction (A-J) that chat models' prose does not fool.

Generative MCQ is scored by finding the letter the model chose. Peers lose
accuracy in two ways: missing a real answer ("**C**", "Answer: c", "C) Paris")
and inventing one from prose ("I think...", "A good start is..."). The rules
below run from the most to the least explicit; the first that finds exactly
one letter wins, and an ambiguous response (several different letters, an
echoed option list) is an extraction failure, never a guess. When the option
texts are known, a response naming exactly one of them is the last resort.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from pytest_llmbench.scoring.base import Score, Scorer, expected_values, register_scorer, verdict
from pytest_llmbench.scoring.reasoning import strip_thinking
from pytest_llmbench.scoring.text import Normaliser

ALL_LETTERS = "ABCDEFGHIJ"

_KEY = (r"(?:(?:final|correct|right|best)\s+)?answer(?:\s+(?:choice|option|letter))?"
        r"(?:\s+(?:is|would\s+be|should\s+be|will\s+be|must\s+be|=))?"
        r"|(?:correct|right|best)\s+(?:option|choice|letter)(?:\s+(?:is|would\s+be))?"
        r"|\bI(?:\s+would|'d|\s+will)?\s+(?:choose|pick|select|go\s+with)"
        r"|\bmy\s+(?:choice|pick)\s+is")
_EXPLICIT = re.compile(
    rf"(?i:{_KEY})[\s:*_\"'`=\-]*(?i:(?:option|choice|letter)\s*)?"
    r"(?P<open>[(\[{]|\*\*)?\s*(?P<letter>[A-Ja-j])(?P<close>[)\]}]|\*\*)?(?![A-Za-z0-9])")
_VERDICT = re.compile(r"(?<![A-Za-z0-9])\(?(?P<letter>[A-J])\)?\s+is\s+(?:the\s+)?"
                      r"(?:correct|right)\b(?!\s+(?:only|if|when|because))")
_BOXED = re.compile(r"\\boxed\{\s*(?:\\text(?:bf)?\{\s*)?\(?(?P<letter>[A-Ja-j])\)?\s*\}")
_ALONE = re.compile(r"^[\s*_\"'`(\[{]*(?:(?i:option|choice|letter)\s+)?(?P<letter>[A-Ja-j])"
                    r"[\s*_\"'`)\]}.:]*$")
_LEADING = re.compile(r"^[\s*_]*(?:(?P<paren>\()?(?P<letter>[A-J])(?(paren)\)|(?:[).:]|\s+-))"
                      r"|(?P<low>[a-j])\))[*_]*\s")
_LINE_MARK = re.compile(r"^[\s*_]*\(?([A-J])[).:]\s", re.MULTILINE)
_OPTION_REF = re.compile(r"(?<![A-Za-z0-9])\(?([A-J])\)")
_MARKED = re.compile(r"\*\*\(?(?P<letter>[A-J])\)?[.:]?\*\*|(?<![\w(])\((?P<letter2>[A-J])\)(?!\w)")
_BARE = re.compile(r"(?<![A-Za-z0-9'\-.&/])(?P<letter>[A-J])(?![A-Za-z0-9'\-&/]|\.[A-Za-z])")
_LOWER_END = re.compile(r"\s*(?:$|[.,;:!?\"'*])")
# "The answer is A or B" states no single answer
_HEDGE = re.compile(r"[)\]}*]*\s*(?:or|and|/|&)\s*\(?[A-J]\)?(?![A-Za-z0-9])")
# "The answer is B. Wait, no, it's C.": a letter right after a correction cue replaces it
_CORRECTION = re.compile(r"(?i:\b(?:wait|actually|correction|sorry|oops|i\s+mean|scratch\s+that|"
                         r"rather|no)\b)[\s,:;.!\u2014-]+(?i:(?:it'?s|it\s+is|make\s+(?:it|that)|"
                         r"the\s+answer\s+is|answer)\s*:?\s*)?\(?(?P<letter>[A-J])\)?"
                         r"(?=\s*(?:$|[.,;:!?)])|\s+is\s+(?:the\s+)?(?:correct|right|answer)\b)")


@dataclass
class Extraction:
    letter: str | None
    rule: str | None = None
    candidates: list[str] = field(default_factory=list)


def _is_word(text: str, match: re.Match[str]) -> bool:
    """A pronoun "I" or the article "A" used as a word, not a choice."""
    letter = match.group("letter")
    after = text[match.end("letter"):]
    if letter == "I":
        return re.match(r"\s+[a-z]|'", after) is not None
    if letter == "A":  # "A good start", but not "A and B"
        return re.match(r"\s+(?!(?:and|or|nor|vs)\b)[a-z]", after) is not None
    return False


class Hedged(Exception):
    """The stated answer names several letters ("A or B")."""


def _explicit(text: str) -> tuple[str, str] | None:
    """The last letter stated as the answer ("The answer is (C)", "Answer: c", "B is correct"),
    or the letter of a self-correction after it; ``Hedged`` when it names several."""
    found: list[tuple[int, str]] = []
    for match in _EXPLICIT.finditer(text):
        letter = match.group("letter")
        if letter.islower() and not match.group("open") and not _LOWER_END.match(
                text, match.end("letter")):
            continue
        if not match.group("open") and _is_word(text, match):
            continue
        hedge = _HEDGE.match(text, match.end("letter"))
        if hedge:
            raise Hedged(letter.upper() + hedge.group(0))
        found.append((match.start("letter"), letter.upper()))
    found += [(m.start("letter"), m.group("letter")) for m in _VERDICT.finditer(text)]
    if not found:
        return None
    position, letter = max(found)
    corrections = [m for m in _CORRECTION.finditer(text, position + 1)]
    return (corrections[-1].group("letter"), "self_correction") if corrections else (
        letter, "explicit")


def _unique(letters: Sequence[str]) -> tuple[str | None, list[str]]:
    distinct = sorted(set(letters))
    return (distinct[0] if len(distinct) == 1 else None), distinct


def _by_text(text: str, options: dict[str, str]) -> tuple[str | None, list[str]]:
    norm = Normaliser(punctuation="remove", unicode=True)
    response = f" {norm(text)} "
    hits = {letter: norm(option) for letter, option in options.items()
            if norm(option) and f" {norm(option)} " in response}
    # "carbon" inside a matched "carbon dioxide" is not a second answer
    kept = [k for k, v in hits.items()
            if not any(v != w and f" {v} " in f" {w} " for w in hits.values())]
    return _unique(kept)


def extract_choice(response: str, letters: str = ALL_LETTERS,
                   options: dict[str, str] | None = None) -> Extraction:
    """The letter a response chose, the rule that found it, or why none was found."""
    text = unicodedata.normalize("NFKC", strip_thinking(response)).strip()
    if not text:
        return Extraction(None)
    try:
        explicit = _explicit(text)
    except Hedged as exc:
        return Extraction(None, None, sorted(set(re.findall(r"[A-J]", str(exc)))))
    if explicit:
        return Extraction(*explicit)
    boxed = [m.group("letter").upper() for m in _BOXED.finditer(text)]
    if boxed:
        return Extraction(boxed[-1], "boxed")
    alone = _ALONE.match(text)
    if alone and not _is_word(text, alone):
        return Extraction(alone.group("letter").upper(), "alone")
    listed = set(_LINE_MARK.findall(text))
    leading = _LEADING.match(text)
    if leading:
        letter = (leading.group("letter") or leading.group("low")).upper()
        others = {m.group(1) for m in _OPTION_REF.finditer(text)} | listed
        if others <= {letter}:  # "(A) is wrong, (B) is wrong" names no single answer
            return Extraction(letter, "leading")
    if len(listed) > 1:  # an echoed option list names no single answer
        return Extraction(None, None, sorted(listed))
    candidates: list[str] = []
    steps: list[tuple[str, Callable[[], tuple[str | None, list[str]]]]] = [
        ("marked", lambda: _unique([m.group("letter") or m.group("letter2")
                                    for m in _MARKED.finditer(text)])),
        ("letter", lambda: _unique([m.group("letter") for m in _BARE.finditer(text)
                                    if m.group("letter") in letters and not _is_word(text, m)])),
    ]
    if options:
        steps.append(("choice_text", lambda: _by_text(text, options)))
    for rule, step in steps:
        letter, found = step()
        if letter:
            return Extraction(letter, rule)
        candidates = candidates or found
    return Extraction(None, None, candidates)


def option_texts(row: dict[str, Any], spec: str | list[str] | None,
                 letters: str) -> dict[str, str] | None:
    """Option texts by letter from a row: a field holding a list or mapping, or one field
    per option (``[a, b, c, d]``)."""
    if spec is None:
        return None
    if isinstance(spec, list):
        values: Any = [row.get(name) for name in spec]
    else:
        values = row.get(spec)
    if isinstance(values, dict):
        return {str(k).strip().upper(): str(v) for k, v in values.items() if v is not None}
    if isinstance(values, list):
        return {letters[i]: str(v) for i, v in enumerate(values[: len(letters)]) if v is not None}
    return None


def expected_letter(value: Any, letters: str, options: dict[str, str] | None) -> str | None:
    """The expected answer as a letter: ``"C"``, ``"(c)"``, a 0-based index, or an option's text."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return letters[value] if 0 <= value < len(letters) else None
    text = str(value).strip()
    alone = _ALONE.match(text)
    if alone:
        return alone.group("letter").upper()
    if options:
        norm = Normaliser(punctuation="remove")
        for letter, option in options.items():
            if norm(option) == norm(text):
                return letter
    return extract_choice(text, letters).letter


@register_scorer("choice")
def choice(letters: str | None = None, choices: str | list[str] | None = None) -> Scorer:
    """Score the chosen letter against the expected one.

    ``letters``: the valid letters (default: as many as the row has options,
    else A-J); ``choices``: the row field(s) holding the option texts, which
    also enables matching the option's text when no letter is given.
    """
    if letters is not None and (not letters or any(c not in ALL_LETTERS for c in letters)):
        raise ValueError(f"letters must be drawn from {ALL_LETTERS}, got {letters!r}")

    def score(response: str, case: Any) -> Score:
        options = option_texts(case.row, choices, letters or ALL_LETTERS)
        valid = letters or (ALL_LETTERS[: len(options)] if options else ALL_LETTERS)
        found = extract_choice(response, valid, options)
        wanted = [w for w in (expected_letter(e, valid, options)
                              for e in expected_values(case)) if w]
        details: dict[str, Any] = {"extracted": found.letter, "rule": found.rule,
                                   "expected_normalised": wanted,
                                   "extraction_failed": found.letter is None}
        if found.candidates and found.letter is None:
            details["candidates"] = found.candidates
        return verdict(found.letter is not None and found.letter in wanted, details)

    return score
