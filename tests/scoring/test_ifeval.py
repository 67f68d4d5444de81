"""IFEval's verifiable instructions: each check, strict vs loose, the scorer's details."""

from __future__ import annotations

import builtins
import json
from pathlib import Path
from typing import Any

import pytest

from pytest_llmbench.scoring.ifeval_checks import CHECKS, run_check, split_sentences
from pytest_llmbench.scoring.registry import make_scorer
from pytest_llmbench.suites.model import Case

BUNDLED = Path(__file__).resolve().parents[2] / "bench_suites" / "data" / "instruction_following.jsonl"

# (instruction id, kwargs, a response that follows it, one that does not)
TABLE: list[tuple[str, dict[str, Any], str, str]] = [
    ("keywords:existence", {"keywords": ["moon", "Cat"]}, "The cat saw the MOON.", "The cat slept."),
    ("keywords:frequency", {"keyword": "tea", "frequency": 2, "relation": "at least"},
     "Tea? More tea!", "Just tea."),
    ("keywords:frequency", {"keyword": "tea", "frequency": 2, "relation": "less than"},
     "Just tea.", "Tea? More tea!"),
    ("keywords:forbidden_words", {"forbidden_words": ["bad"]}, "A badge is fine.", "That is BAD."),
    ("keywords:letter_frequency", {"letter": "z", "let_frequency": 2, "let_relation": "at least"},
     "Zaz", "Only one z here."),
    ("language:response_language", {"language": "de"},
     "Das ist ein kurzer Satz auf Deutsch, der nur zum Testen geschrieben wurde.",
     "This is a short English sentence written only for testing the detector."),
    ("length_constraints:number_sentences", {"num_sentences": 3, "relation": "less than"},
     "One. Two.", "One. Two! Three? Four."),
    ("length_constraints:number_paragraphs", {"num_paragraphs": 2}, "a\n***\nb", "a\n***\n\n***\nb"),
    ("length_constraints:number_words", {"num_words": 5, "relation": "at least"},
     "one two three four five", "one two three four"),
    ("length_constraints:nth_paragraph_first_word",
     {"num_paragraphs": 2, "nth_paragraph": 2, "first_word": "so"},
     "Intro.\n\n'So,' he said.", "Intro.\n\nThen he said."),
    ("detectable_content:number_placeholders", {"num_placeholders": 2}, "[a] and [b]", "[a] only"),
    ("detectable_content:postscript", {"postscript_marker": "P.S."}, "Hi.\n\nP.S. bye", "Hi. PS bye"),
    ("detectable_content:postscript", {"postscript_marker": "P.P.S"}, "Hi.\nP.P.S bye", "Hi."),
    ("detectable_format:number_bullet_lists", {"num_bullets": 2}, "* a\n- b", "* a\n* b\n* c"),
    ("detectable_format:constrained_response", {}, "My answer is maybe.", "Maybe."),
    ("detectable_format:number_highlighted_sections", {"num_highlights": 2},
     "*one* and **two**", "*one* and ** **"),
    ("detectable_format:multiple_sections", {"section_spliter": "Section", "num_sections": 2},
     "Section 1\na\nSection 2\nb", "Section 1\na"),
    ("detectable_format:json_format", {}, '```json\n{"a": 1}\n```', "{'a': 1}"),
    ("detectable_format:title", {}, "<<My Title>>\ntext", "<< >>\ntext"),
    ("combination:two_responses", {}, "one\n******\ntwo", "same\n******\nsame"),
    ("combination:repeat_prompt", {"prompt_to_repeat": "Say hi."}, "say hi. Hi!", "Hi! Say hi."),
    ("startend:end_checker", {"end_phrase": "Any questions?"}, '"Done. Any questions?"', "Done."),
    ("startend:quotation", {}, '"quoted"', 'quoted"'),
    ("change_case:capital_word_frequency", {"capital_frequency": 2, "capital_relation": "at least"},
     "THIS is BIG", "This is Big"),
    ("change_case:english_capital", {}, "THIS IS ALL IN CAPITAL LETTERS, IN ENGLISH.",
     "This is not all capitals."),
    ("change_case:english_lowercase", {}, "this is all lower case english text.",
     "This is Not."),
    ("punctuation:no_comma", {}, "No commas here.", "One, two."),
]


def test_table_covers_every_instruction() -> None:
    assert {row[0] for row in TABLE} == set(CHECKS)


@pytest.mark.parametrize(("instruction", "kwargs", "good", "bad"), TABLE,
                         ids=[f"{row[0]}-{i}" for i, row in enumerate(TABLE)])
def test_check(instruction: str, kwargs: dict[str, Any], good: str, bad: str) -> None:
    assert run_check(instruction, good, kwargs) is True
    assert run_check(instruction, bad, kwargs) is False


def test_sentence_splitting_is_nltk_punkt() -> None:
    # the reference's splitter (NLTK's English Punkt): lowercase starts are sentences,
    # known abbreviations and decimals are not boundaries
    assert split_sentences("i like tea. i also like coffee.") == ["i like tea.",
                                                                   "i also like coffee."]
    text = "Dr. Smith paid 3.50 dollars. He left at 5 p.m. on Friday! Why? Because e.g. rain"
    assert split_sentences(text)[:3] == ["Dr. Smith paid 3.50 dollars.",
                                         "He left at 5 p.m. on Friday!", "Why?"]


@pytest.mark.parametrize(("text", "frequency", "expected"), [
    ("U.S.A. is big", 2, True),  # one token, upper
    ("DON'T stop", 2, False),  # DO + N'T: nltk splits the contraction, both upper
    ("DON'T stop", 3, True),
    ("NASA's probe", 2, True),  # NASA + 's: 's is not upper
])
def test_capital_words_are_nltk_tokens(text: str, frequency: int, expected: bool) -> None:
    kwargs = {"capital_frequency": frequency, "capital_relation": "less than"}
    assert run_check("change_case:capital_word_frequency", text, kwargs) is expected


def test_markers_and_keywords_are_stripped_like_the_reference() -> None:
    assert run_check("detectable_content:postscript", "Hi.\nP.S. bye",
                     {"postscript_marker": " P.S. "}) is True
    assert run_check("keywords:frequency", "tea and tea",
                     {"keyword": " tea ", "frequency": 2, "relation": "at least"}) is True
    assert run_check("keywords:letter_frequency", "aaa",
                     {"letter": " a", "let_frequency": 3, "let_relation": "at least"}) is True
    assert run_check("detectable_format:multiple_sections", "Section 1 a Section 2 b",
                     {"section_spliter": " Section ", "num_sections": 2}) is True


def _case(ids: list[str], kwargs: list[dict[str, Any] | None]) -> Case:
    return Case("if", "k1", {"instruction_id_list": ids, "kwargs": kwargs})


def test_loose_accepts_markup_and_a_leading_line() -> None:
    case = _case(["startend:quotation", "punctuation:no_comma"], [{}, {"language": None}])
    response = 'Sure, here it is:\n"**quoted** text"'
    strict = make_scorer("ifeval")(response, case)
    loose = make_scorer({"name": "ifeval", "mode": "loose"})(response, case)
    assert not strict.passed and loose.passed
    details = loose.details
    assert details["strict_prompt"] is False and details["loose_prompt"] is True
    assert details["strict_instruction"] == 0.0 and details["loose_instruction"] == 1.0
    assert details["instructions"][1] == {"id": "punctuation:no_comma", "kwargs": {},
                                          "strict": False, "loose": True}
    assert "not followed (strict): startend:quotation, punctuation:no_comma" in strict.details["reason"]


def test_instruction_level_value() -> None:
    case = _case(["punctuation:no_comma", "startend:quotation"], [{}, {}])
    score = make_scorer({"name": "ifeval", "value": "instruction"})("no commas", case)
    assert score.value == 0.5 and not score.passed


def test_empty_response_is_an_extraction_failure() -> None:
    score = make_scorer("ifeval")("<think>planning", _case(["punctuation:no_comma"], [{}]))
    assert score.extraction_failed and not score.passed


def test_language_without_langdetect_is_marked_unsupported(monkeypatch: pytest.MonkeyPatch) -> None:
    real_import = builtins.__import__

    def no_langdetect(name: str, *args: Any, **kwargs: Any) -> Any:
        if name == "langdetect":
            raise ImportError(name)
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_langdetect)
    case = _case(["language:response_language", "punctuation:no_comma"],
                 [{"language": "fr"}, {}])
    score = make_scorer("ifeval")("Bonjour tout le monde", case)
    assert score.passed and score.details["unsupported"] == ["language:response_language"]
    assert "pytest-llmbench[ifeval]" in score.details["instructions"][0]["unsupported"]
    assert score.details["instructions_checked"] == 1


@pytest.mark.parametrize(("row", "message"), [
    ({"instruction_id_list": ["nope:x"], "kwargs": [{}]}, "unknown IFEval instruction 'nope:x'"),
    ({"instruction_id_list": ["punctuation:no_comma"], "kwargs": [{}, {}]}, "list of 1 mappings"),
    ({"instruction_id_list": [], "kwargs": []}, "non-empty list"),
    ({"instruction_id_list": ["startend:end_checker"], "kwargs": [{}]}, "bad kwargs"),
])
def test_bad_rows_are_clear_errors(row: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        make_scorer("ifeval")("text", Case("if", "k1", row))


def test_bundled_references_follow_every_instruction_and_a_refusal_does_not() -> None:
    scorer = make_scorer("ifeval")
    rows = [json.loads(line) for line in BUNDLED.read_text().splitlines()]
    covered = {i for row in rows for i in row["instruction_id_list"]}
    assert covered == set(CHECKS)
    for row in rows:
        case = Case("if", row["key"], row)
        assert scorer(row["response"], case).passed, row["key"]
        assert not scorer("I cannot help with that", case).passed, row["key"]


def test_documented_deviations_from_the_reference() -> None:
    # regex characters are literal (the reference raises on "C++" and matches "pas" for "P.S")
    assert run_check("keywords:existence", "I write C++ daily", {"keywords": ["C++"]}) is True
    assert run_check("detectable_content:postscript", "a pass", {"postscript_marker": "P.S"}) is False
    # a zero argument is used, not replaced by a random one
    assert run_check("keywords:letter_frequency", "abc",
                     {"letter": "z", "let_frequency": 0, "let_relation": "at least"}) is True
    with pytest.raises(ValueError, match="keywords:letter_frequency"):
        run_check("keywords:letter_frequency", "abc",
                  {"letter": "é", "let_frequency": 1, "let_relation": "at least"})
