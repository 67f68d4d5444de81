"""Text-matching scorers: exact (normalised), contains and regex with a capture group.

Normalisation follows SQuAD's ``normalize_answer`` (lower case, no
punctuation, no articles, single spaces) with each step an option, plus
Unicode folding (NFKC, curly quotes and dashes) so ``“Paris”`` equals
``"Paris"``. Every score records the normalised forms it compared.
"""

from __future__ import annotations

import re
import string
import unicodedata
from dataclasses import dataclass
from typing import Any

from pytest_llmbench.scoring.base import Score, Scorer, expected_values, register_scorer, verdict
from pytest_llmbench.scoring.reasoning import strip_thinking

_EDGE_PUNCT = string.punctuation.replace("-", "").replace("+", "")
_ALL_PUNCT = re.compile(r"[^\w\s]", re.UNICODE)
_ARTICLES = re.compile(r"\b(a|an|the)\b", re.IGNORECASE)
_FOLD = str.maketrans({"\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"',
                       "\u2013": "-", "\u2014": "-", "\u2212": "-", "\u00a0": " "})
_WHITESPACE = ("collapse", "remove", "keep")
_PUNCTUATION = ("edges", "remove", "keep")


@dataclass(frozen=True)
class Normaliser:
    """One configuration of text normalisation; ``squad=True`` is SQuAD's."""

    ignore_case: bool = True
    whitespace: str = "collapse"
    punctuation: str = "edges"
    articles: bool = False
    unicode: bool = True
    accents: bool = True

    @classmethod
    def from_options(cls, *, squad: bool = False, **options: Any) -> Normaliser:
        if squad:
            options = {"punctuation": "remove", "articles": True, **options}
        norm = cls(**options)
        if norm.whitespace not in _WHITESPACE:
            raise ValueError(f"whitespace must be one of {', '.join(_WHITESPACE)}")
        if norm.punctuation not in _PUNCTUATION:
            raise ValueError(f"punctuation must be one of {', '.join(_PUNCTUATION)}")
        return norm

    def __call__(self, text: str) -> str:
        if self.unicode:
            text = unicodedata.normalize("NFKC", text).translate(_FOLD)
        if not self.accents:
            text = "".join(c for c in unicodedata.normalize("NFD", text)
                           if not unicodedata.combining(c))
        if self.ignore_case:
            text = text.casefold()
        if self.punctuation == "remove":
            text = _ALL_PUNCT.sub(" " if self.whitespace != "keep" else "", text)
        if self.articles:
            text = _ARTICLES.sub(" ", text)
        if self.whitespace == "collapse":
            text = " ".join(text.split())
        elif self.whitespace == "remove":
            text = "".join(text.split())
        if self.punctuation == "edges":
            text = text.strip(_EDGE_PUNCT + " ")
        return text


@register_scorer("exact")
def exact(**options: Any) -> Scorer:
    """The whole (normalised) response equals one of the expected answers."""
    norm = Normaliser.from_options(**options)

    def score(response: str, case: Any) -> Score:
        got = norm(strip_thinking(response))
        wanted = [norm(str(e)) for e in expected_values(case)]
        return verdict(got in wanted, {"extracted": got, "expected_normalised": wanted,
                                       "rule": "exact", "extraction_failed": not got})

    return score


@register_scorer("contains")
def contains(whole_word: bool = False, **options: Any) -> Scorer:
    """One of the expected answers appears in the response (``whole_word``: as a word)."""
    norm = Normaliser.from_options(**options)

    def found(needle: str, haystack: str) -> bool:
        if not needle:
            return False
        if whole_word:
            return re.search(rf"(?<!\w){re.escape(needle)}(?!\w)", haystack) is not None
        return needle in haystack

    def score(response: str, case: Any) -> Score:
        got = norm(strip_thinking(response))
        wanted = [norm(str(e)) for e in expected_values(case)]
        hit = next((w for w in wanted if found(w, got)), None)
        return verdict(hit is not None, {"extracted": hit, "matched": hit, "normalised": got,
                                         "expected_normalised": wanted, "rule": "contains",
                                         "extraction_failed": not got})

    return score


_FLAGS = {"i": re.IGNORECASE, "m": re.MULTILINE, "s": re.DOTALL, "x": re.VERBOSE,
          "a": re.ASCII}
_FLAG_NAMES = {"ignorecase": "i", "multiline": "m", "dotall": "s", "verbose": "x", "ascii": "a"}


def regex_flags(flags: str | list[str] | None, ignore_case: bool) -> int:
    """``"ims"`` (letters) or ``[IGNORECASE, MULTILINE]`` (names or letters) as ``re`` flags."""
    value = re.IGNORECASE if ignore_case else 0
    for name in list(flags) if isinstance(flags, str) else list(flags or []):
        key = _FLAG_NAMES.get(str(name).lower(), str(name).lower())
        if key not in _FLAGS:
            raise ValueError(f"unknown regex flag {name!r} (use i, m, s, x, a or their names)")
        value |= _FLAGS[key]
    return value


@register_scorer("regex")
def regex(pattern: str, group: int | str | None = None, ignore_case: bool = True,
          flags: str | list[str] | None = None, last: bool = True, **options: Any) -> Scorer:
    """Extract with ``pattern`` (the last match by default) and compare to expected.

    ``group`` defaults to the first capture group (the whole match when there
    is none). An expected answer the pattern matches is extracted too
    (``"Answer: B"`` expects ``B``). With no expected answer the test passes
    when the pattern matches.
    """
    try:
        compiled = re.compile(pattern, regex_flags(flags, ignore_case))
    except re.error as exc:
        raise ValueError(f"invalid pattern {pattern!r}: {exc}") from None
    if group is None:
        group = 1 if compiled.groups else 0
    if isinstance(group, int) and group > compiled.groups:
        raise ValueError(f"pattern {pattern!r} has no group {group}")
    norm = Normaliser.from_options(ignore_case=ignore_case, **options)

    def extract(text: str) -> str | None:
        matches = list(compiled.finditer(text))
        if not matches:
            return None
        match = matches[-1] if last else matches[0]
        return (match.group(group) or "").strip()

    def score(response: str, case: Any) -> Score:
        extracted = extract(strip_thinking(response))
        details: dict[str, Any] = {"pattern": pattern, "rule": "regex"}
        if extracted is None:
            details.update(extracted=None, extraction_failed=True)
            return verdict(False, details)
        # an expected answer written in the answer's format is read the same way
        wanted = [norm(found if (found := extract(str(e))) is not None else str(e))
                  for e in expected_values(case)]
        got = norm(extracted)
        ok = got in wanted if wanted else True
        details.update(extracted=extracted, normalised=got, expected_normalised=wanted,
                       extraction_failed=not extracted)
        return verdict(ok, details)

    return score
