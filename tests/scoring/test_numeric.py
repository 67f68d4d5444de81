"""The numeric scorer: where the answer is found, how numbers are read, tolerances."""

from __future__ import annotations

import pytest

from pytest_llmbench.errors import ConfigError
from pytest_llmbench.scoring.numeric import extract_number
from pytest_llmbench.scoring.registry import make_scorer
from pytest_llmbench.suites.model import Case

FOUND = [
    ("The answer is 42.", 42, "stated"),
    ("#### 1,234", 1234, "gsm8k"),
    ("Natalia sold 48/2 = <<48/2=24>>24 clips in May.\n#### 72", 72, "gsm8k"),
    ("so \\boxed{\\frac{3}{4}}", 0.75, "boxed"),
    ("\\boxed{-\\frac{1}{2}}", -0.5, "boxed"),
    ("\\boxed{1,000}", 1000, "boxed"),
    ("The final answer is $\\boxed{18}$. Earlier I had 17.", 18, "boxed"),
    ("She has -5 apples", -5, "last_number"),
    ("\u22127", -7, "last_number"),  # U+2212 minus sign
    ("It costs $1,000.50 in total", 1000.5, "last_number"),
    ("about 1.5e3 m", 1500, "last_number"),
    ("1e-3", 0.001, "last_number"),
    ("1.5 \\times 10^{3}", 1500, "last_number"),
    ("50%", 50, "last_number"),
    ("3/4 of them", 0.75, "last_number"),
    ("2 1/2 cups", 2.5, "last_number"),
    ("5-3=2", 2, "last_number"),
    ("The answer is 18 apples, because 9 * 2 = 18", 18, "stated"),
    ("The answer is: $18.", 18, "stated"),
    ("Answer: 0.5", 0.5, "stated"),
    ("The answer is -3.5", -3.5, "stated"),
    ("The total is 3 dollars and the answer is 12 ... ok", 12, "stated"),
    ("Step 1: 3+4=7. Step 2: 7*2 = 14", 14, "last_number"),
    ("<think>maybe 12</think>It is 13", 13, "last_number"),
    ("3.", 3, "last_number"),
    ("(-2)", -2, "last_number"),
    ("1,2,3", 3, "last_number"),
    ("The answer is 7 km.", 7, "stated"),
]

NOT_FOUND = ["no number here", "H2O is water", "1/2/2020", "\\boxed{x}", "",
             "<think>so it is 12"]


@pytest.mark.parametrize(("text", "value", "rule"), FOUND)
def test_extracts_the_answer_number(text: str, value: float, rule: str) -> None:
    number, found_rule = extract_number(text)
    assert number is not None and number.value == pytest.approx(value)
    assert found_rule == rule


@pytest.mark.parametrize("text", NOT_FOUND)
def test_no_number_is_an_extraction_failure(text: str) -> None:
    assert extract_number(text) == (None, None)
    score = make_scorer("numeric")(text, Case("s", "c", {}, expected="12"))
    assert not score.passed and score.extraction_failed


def _score(response: str, expected: object, **options: object):  # type: ignore[no-untyped-def]
    return make_scorer({"name": "numeric", **options})(response, Case("s", "c", {}, expected))


def test_expected_may_be_a_gsm8k_solution_a_number_or_a_list() -> None:
    assert _score("So 72.", "She sold 24 in May.\n#### 72").passed
    assert _score("#### 72.0", 72).passed
    assert _score("#### 8", ["7", "8"]).passed
    score = _score("#### 73", "#### 72")
    assert not score.passed and not score.extraction_failed
    assert score.details == {"extracted": "73", "value": 73.0, "rule": "gsm8k",
                             "expected_normalised": [72.0], "extraction_failed": False}


def test_tolerances_and_percentages() -> None:
    assert not _score("0.333", "1/3").passed
    assert _score("0.333", "1/3", abs_tol=0.001).passed
    assert _score("101", 100, rel_tol=0.02).passed
    assert not _score("103", 100, rel_tol=0.02).passed
    assert _score("It rose by 50%.", 50).passed
    assert not _score("It rose by 50%.", 0.5).passed
    assert _score("It rose by 50%.", 0.5, percent="fraction").passed
    assert _score("It rose by 50%.", 0.5, percent="either").passed


def test_unreadable_expected_answer_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="case c: expected answer 'many' has no number"):
        _score("12", "many")


def test_bad_options_are_config_errors() -> None:
    with pytest.raises(ConfigError, match="percent must be one of"):
        make_scorer({"name": "numeric", "percent": "half"}, source="s.yaml")
    with pytest.raises(ConfigError, match="s.yaml: scorer 'numeric'.*tolerance"):
        make_scorer({"name": "numeric", "tolerance": 1}, source="s.yaml")
