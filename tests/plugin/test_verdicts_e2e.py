"""Issue 15 verdicts end to end: what a user sees for expressions, self-corrections,
hedged letters and the reference's sentence counting (a fixed in-process model)."""

from __future__ import annotations

import json

import pytest

from tests.conftest import read_records


def _run(pytester: pytest.Pytester, scorer: str, text: str,
         rows: list[dict[str, object]]) -> tuple[pytest.RunResult, dict[str, dict]]:
    (pytester.path / "s.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    (pytester.path / "s.yaml").write_text(
        f"name: s\ndataset: s.jsonl\nprompt: '{{question}}'\nexpected: answer\nscorer: {scorer}\n")
    pytester.makefile(".yaml", llmbench="models:\n  inproc:fixed:\n    text: "
                      + json.dumps(text) + "\n")
    result = pytester.runpytest("s.yaml", "--llmbench-models", "inproc:fixed")
    return result, {r["case_id"]: r for r in read_records(pytester)}


def test_an_expression_is_not_its_last_digit(pytester: pytest.Pytester) -> None:
    result, records = _run(pytester, "numeric", "So the answer is $\\boxed{\\sqrt{2}}$.",
                           [{"id": "two", "question": "?", "answer": "2"},
                            {"id": "root", "question": "?", "answer": "\\sqrt{2}"}])
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(["*wrong answer: expected '2', got '\\\\sqrt{2}'*"])
    details = records["two"]["score_details"]
    assert (details["extracted"], details["rule"], details["decided_by"]) == (
        "\\sqrt{2}", "boxed_expression", "math_verify")
    assert records["root"]["outcome"] == "passed"


def test_the_final_answer_wins_a_self_correction(pytester: pytest.Pytester) -> None:
    result, records = _run(pytester, "numeric", "The answer is 12. Wait, no, 14.",
                           [{"id": "first", "question": "?", "answer": "12"},
                            {"id": "final", "question": "?", "answer": "14"}])
    result.assert_outcomes(passed=1, failed=1)
    assert records["final"]["score_details"]["rule"] == "self_correction"
    assert records["first"]["outcome"] == "failed"


def test_a_hedged_letter_is_an_extraction_failure(pytester: pytest.Pytester) -> None:
    result, records = _run(pytester, "choice", "The answer is A or B.",
                           [{"id": "a", "question": "?", "answer": "A"}])
    result.assert_outcomes(failed=1)
    assert records["a"]["extraction_failed"] is True
    assert records["a"]["score_details"]["candidates"] == ["A", "B"]


def test_sentences_are_counted_as_the_reference_counts_them(pytester: pytest.Pytester) -> None:
    row = {"id": "i1", "question": "Answer in fewer than 2 sentences.", "answer": None,
           "instruction_id_list": ["length_constraints:number_sentences"],
           "kwargs": [{"num_sentences": 2, "relation": "less than"}]}
    result, records = _run(pytester, "ifeval", "i like tea. i also like coffee.", [row])
    result.assert_outcomes(failed=1)
    assert records["i1"]["score_details"]["instructions"][0]["strict"] is False
