"""exact, contains and regex: normalisation options and what they record."""

from __future__ import annotations

import pytest

from pytest_llmbench.errors import ConfigError
from pytest_llmbench.scoring.registry import make_scorer
from pytest_llmbench.suites.model import Case


def _score(spec: object, response: str, expected: object):  # type: ignore[no-untyped-def]
    return make_scorer(spec)(response, Case("s", "c", {}, expected))


@pytest.mark.parametrize(("spec", "response", "expected", "passed"), [
    ("exact", "Paris", "paris", True),
    ("exact", "  Paris.  ", "Paris", True),
    ("exact", "-5", "-5", True),  # a sign is not edge punctuation
    ("exact", "New   York", "new york", True),
    ("exact", "\u201cParis\u201d", '"Paris"', True),  # curly quotes fold
    ("exact", "The Paris", "Paris", False),
    ("exact", "Paris, France", "Paris", False),
    ({"name": "exact", "squad": True}, "The Eiffel-Tower!", "eiffel tower", True),
    ({"name": "exact", "articles": True}, "an apple", "apple", True),
    ({"name": "exact", "ignore_case": False}, "paris", "Paris", False),
    ({"name": "exact", "whitespace": "remove"}, "1 000", "1000", True),
    ({"name": "exact", "accents": False}, "Bogot\u00e1", "Bogota", True),
    ("exact", "Bogot\u00e1", "Bogota", False),
    ({"name": "exact", "unicode": False}, "\uff30aris", "Paris", False),
    ("exact", "\uff30aris", "Paris", True),  # NFKC: full-width P
    ("exact", "<think>Lyon?</think>Paris", "Paris", True),
    ("contains", "The capital is Paris.", "paris", True),
    ("contains", "Parisian food", "Paris", True),
    ({"name": "contains", "whole_word": True}, "Parisian food", "Paris", False),
    ({"name": "contains", "whole_word": True}, "It is Paris.", "Paris", True),
    ("contains", "It is Lyon.", ["Paris", "Lyon"], True),
    ("contains", "<think>Paris?</think>Lyon", "Paris", False),
])
def test_normalised_matching(spec: object, response: str, expected: object,
                             passed: bool) -> None:
    assert _score(spec, response, expected).passed is passed


def test_exact_records_normalised_forms() -> None:
    score = _score({"name": "exact", "squad": True}, "The Answer: Paris!", "paris")
    assert score.details == {"extracted": "answer paris", "expected_normalised": ["paris"],
                             "rule": "exact", "extraction_failed": False}
    assert _score("exact", "   ", "x").extraction_failed


def test_regex_group_flags_and_first_or_last() -> None:
    spec = {"name": "regex", "pattern": r"answer:\s*(\w+)"}
    score = _score(spec, "Answer: Lyon. Answer: Paris", "paris")
    assert score.passed and score.details["extracted"] == "Paris"
    assert not _score({**spec, "last": False}, "Answer: Lyon. Answer: Paris", "paris").passed
    assert not _score({**spec, "ignore_case": False}, "Answer: Paris", "paris").passed
    named = {"name": "regex", "pattern": r"(?P<city>[A-Z]\w+)$", "group": "city",
             "flags": ["MULTILINE"], "ignore_case": False}
    assert _score(named, "Lyon\nParis\nnot this", ["Paris"]).details["extracted"] == "Paris"
    dotall = {"name": "regex", "pattern": r"<a>(.*)</a>", "flags": "s"}
    assert _score(dotall, "<a>x\ny</a>", "x\ny").details["extracted"] == "x\ny"
    missing = _score(spec, "I don't know", "paris")
    assert not missing.passed and missing.extraction_failed


def test_regex_without_expected_checks_the_format() -> None:
    spec = {"name": "regex", "pattern": r"^\d{4}-\d{2}-\d{2}$"}
    assert _score(spec, "2024-01-31", None).passed
    assert not _score(spec, "31/01/2024", None).passed


@pytest.mark.parametrize(("spec", "message"), [
    ({"name": "regex", "pattern": "(unclosed"}, "invalid pattern '\\(unclosed'"),
    ({"name": "regex", "pattern": "a", "group": 2}, "has no group 2"),
    ({"name": "regex", "pattern": "a", "flags": "q"}, "unknown regex flag 'q'"),
    ({"name": "exact", "punctuation": "some"}, "punctuation must be one of"),
    ({"name": "exact", "case": True}, "unexpected keyword argument 'case'"),
])
def test_bad_options_name_the_suite(spec: object, message: str) -> None:
    with pytest.raises(ConfigError, match=rf"^suite.yaml: scorer '\w+': .*{message}"):
        make_scorer(spec, source="suite.yaml")
