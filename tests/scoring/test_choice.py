"""The choice scorer against real-world answer styles, including ones that must not match."""

from __future__ import annotations

import pytest

from pytest_llmbench.scoring.choice import expected_letter, extract_choice
from pytest_llmbench.scoring.registry import make_scorer
from pytest_llmbench.suites.model import Case

FOUND = [
    ("The answer is (C).", "C", "explicit"),
    ("**C**", "C", "alone"),
    ("C) Paris", "C", "leading"),
    ("C. Paris is the capital.", "C", "leading"),
    ("(C) Paris", "C", "leading"),
    ("Answer: c", "C", "explicit"),
    ("answer: (b)", "B", "explicit"),
    ("c", "C", "alone"),
    ("B.", "B", "alone"),
    ("Option B", "B", "alone"),
    ("The answer is C. C) Paris", "C", "explicit"),
    ("C\n\nC", "C", "letter"),
    ("I think the answer is B.", "B", "explicit"),
    ("A good question. The answer is D", "D", "explicit"),
    ("Answer: I think it's C", "C", "letter"),
    ("**Answer:** (B)", "B", "explicit"),
    ("The correct answer is: **C. Paris**", "C", "explicit"),
    ('{"answer": "C"}', "C", "explicit"),
    ("The correct option is D.", "D", "explicit"),
    ("ANSWER: A", "A", "explicit"),
    ("B is correct.", "B", "explicit"),
    ("Between A and B, I'd go with B", "B", "explicit"),
    ("My choice is B", "B", "explicit"),
    ("The answer is B... wait, actually the answer is C.", "C", "explicit"),
    ("Final Answer: The final answer is $\\boxed{D}$", "D", "boxed"),
    ("\\boxed{C}", "C", "boxed"),
    ("\\boxed{\\text{B}}", "B", "boxed"),
    ("<think>Maybe A? Or B?</think>The answer is C", "C", "explicit"),
    ("Mars is red, so **B** it is.", "B", "marked"),
    ("It is definitely B", "B", "letter"),
    ("\uff23", "C", "alone"),  # full-width C
]

NOT_FOUND = [
    "I think so.",
    "I'm not sure",
    "the answer is a tricky one",
    "A) Venus\nB) Mars\nC) Jupiter\nD) Saturn",
    "(A) is wrong, (B) is wrong",
    "A and B are both plausible",
    "The U.S. is big",
    "",
    "<think>The answer is C",  # cut off while thinking: no answer
    "Because of gravity.",
]


@pytest.mark.parametrize(("text", "letter", "rule"), FOUND)
def test_extracts_the_chosen_letter(text: str, letter: str, rule: str) -> None:
    found = extract_choice(text, "ABCD")
    assert (found.letter, found.rule) == (letter, rule)


@pytest.mark.parametrize("text", NOT_FOUND)
def test_no_letter_is_invented(text: str) -> None:
    assert extract_choice(text, "ABCD").letter is None


def test_letters_outside_the_options_are_not_read_from_prose() -> None:
    assert extract_choice("See figure E for the details", "ABCD").letter is None
    assert extract_choice("Answer: E", "ABCD").letter == "E"  # stated: extracted, then wrong
    assert extract_choice("I", "ABCDEFGHIJ").letter == "I"


def _case(expected: object, **row: object) -> Case:
    return Case(suite="mc", id="q1", row=dict(row), expected=expected)


ROW = {"choices": ["Venus", "Mars", "Jupiter", "Carbon", "Carbon dioxide"]}


@pytest.mark.parametrize(("response", "passed", "rule"), [
    ("Mars", True, "choice_text"),
    ("It's the planet Mars.", True, "choice_text"),
    ("Plants absorb carbon dioxide.", False, "choice_text"),  # E, not D: longest wins
    ("Venus or Mars", False, None),
    ("The answer is (B)", True, "explicit"),
])
def test_option_text_is_the_fallback(response: str, passed: bool, rule: str | None) -> None:
    score = make_scorer({"name": "choice", "choices": "choices"})(response, _case("B", **ROW))
    assert (score.passed, score.details["rule"]) == (passed, rule)
    if rule is None:
        assert score.extraction_failed and score.details["candidates"] == ["A", "B"]


def test_expected_as_index_letter_or_text() -> None:
    options = {"A": "Venus", "B": "Mars"}
    assert expected_letter(1, "ABCD", options) == "B"
    assert expected_letter("(b)", "ABCD", options) == "B"
    assert expected_letter("mars", "ABCD", options) == "B"
    assert expected_letter("The answer is A", "ABCD", None) == "A"
    assert expected_letter(7, "ABCD", None) is None


def test_option_fields_per_letter_and_details() -> None:
    scorer = make_scorer({"name": "choice", "choices": ["a", "b", "c", "d"]})
    case = _case("D", a="Oxygen", b="Nitrogen", c="Helium", d="Carbon dioxide")
    score = scorer("Carbon dioxide, of course.", case)
    assert score.passed and score.details["extracted"] == "D"
    wrong = scorer("I believe the answer is B.", case)
    assert not wrong.passed and not wrong.extraction_failed
    assert wrong.details == {"extracted": "B", "rule": "explicit", "expected_normalised": ["D"],
                             "extraction_failed": False}
    none = scorer("No idea, sorry.", case)
    assert not none.passed and none.extraction_failed


def test_bad_letters_option_is_a_config_error() -> None:
    from pytest_llmbench.errors import ConfigError

    with pytest.raises(ConfigError, match="letters must be drawn from"):
        make_scorer({"name": "choice", "letters": "AXZ"}, source="suite.yaml")


# issue 15: the last stated letter is not always the answer
@pytest.mark.parametrize(("response", "letter", "rule"), [
    ("The answer is B. Wait, no, it's C.", "C", "self_correction"),
    ("The answer is B. Actually, C.", "C", "self_correction"),
    ("The answer is B. No wait — A is correct.", "A", "explicit"),  # "A is correct" states it
    ("The answer is B, not C.", "B", "explicit"),
    ("The answer is C. I considered A and B first.", "C", "explicit"),
    ("The answer is A or B.", None, None),
    ("The answer is (A) / (B)", None, None),
])
def test_self_correction_and_hedges(response: str, letter: str | None, rule: str | None) -> None:
    found = extract_choice(response, "ABCD")
    assert (found.letter, found.rule) == (letter, rule)
    if letter is None:
        assert found.candidates == ["A", "B"]


def test_a_letter_after_a_cue_that_is_called_wrong_is_no_correction() -> None:
    found = extract_choice("The answer is B. No, A is wrong.", "ABCD")
    assert (found.letter, found.rule) == ("B", "explicit")
