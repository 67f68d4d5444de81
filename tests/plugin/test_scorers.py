"""Scorers end to end: chosen by name, module:function or @scorer; failures explained;
extraction failures and truncation counted in summary.json."""

from __future__ import annotations

import json

import pytest

from tests.conftest import read_records, read_summary

SUITES = {
    "mc": ("{name: choice, choices: choices}",
           [{"id": "m1", "question": "Red planet?", "choices": ["Venus", "Mars"], "answer": "B"},
            {"id": "m2", "question": "Gas giant?", "choices": ["Jupiter", "Mars"], "answer": "(A)"}]),
    "gsm": ("{name: numeric, abs_tol: 0.01}",
            [{"id": "g1", "question": "6*7?", "answer": "6 * 7 = <<6*7=42>>42\n#### 42"},
             {"id": "g2", "question": "1/3?", "answer": "\\boxed{0.33}"}]),
    "ex": ("{name: exact, squad: true}", [{"id": "e1", "question": "Capital?", "answer": "Paris"}]),
    "has": ("contains", [{"id": "c1", "question": "Capital?", "answer": "Paris"}]),
    "rx": ('{name: regex, pattern: "city: (\\\\w+)", flags: i}',
           [{"id": "r1", "question": "Capital?", "answer": "City: Paris"}]),
    "ife": ("ifeval", [{"id": "i1", "question": "Say hi without commas.", "answer": "hi there",
                        "instruction_id_list": ["punctuation:no_comma"], "kwargs": [{}]}]),
}


def _write(pytester: pytest.Pytester, name: str, scorer: str, rows: list[dict[str, object]],
           extra: str = "") -> None:
    (pytester.path / f"{name}.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    (pytester.path / f"{name}.yaml").write_text(
        f"name: {name}\ndataset: {name}.jsonl\nprompt: '{{question}}'\nexpected: answer\n"
        f"scorer: {scorer}\n{extra}")


def test_every_builtin_scorer_by_name_against_the_simulator(pytester: pytest.Pytester) -> None:
    for name, (scorer, rows) in SUITES.items():
        _write(pytester, name, scorer, rows)
    result = pytester.runpytest_subprocess("--llmbench-models", "sim:default",
                                           *(f"{n}.yaml" for n in SUITES))
    result.assert_outcomes(passed=8)
    rules = {r["case_id"]: r["score_details"]["rule"] for r in read_records(pytester)}
    assert rules == {"m1": "alone", "m2": "alone", "g1": "gsm8k", "g2": "boxed", "e1": "exact",
                     "c1": "contains", "r1": "regex", "i1": "ifeval_strict"}
    rows = read_summary(pytester)
    assert {r["suite"] for r in rows} == set(SUITES)
    assert all(r["extraction_failure_rate"] == 0 and r["truncation_rate"] == 0 for r in rows)


def test_thinking_is_stripped_and_the_failure_says_what_was_extracted(
        pytester: pytest.Pytester) -> None:
    _write(pytester, "mc", "choice", [{"id": "q1", "question": "?", "answer": "B"},
                                      {"id": "q2", "question": "?", "answer": "A"}])
    pytester.makefile(".yaml", llmbench="models:\n  inproc:fixed:\n    text: "
                      "'<think>Is it (A)? No.</think>The answer is (B).'\n")
    result = pytester.runpytest("mc.yaml", "--llmbench-models", "inproc:fixed")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(["*wrong answer: expected 'A', got 'B' (response: '<think>*"])
    by_case = {r["case_id"]: r for r in read_records(pytester)}
    details = by_case["q1"]["score_details"]
    assert details["extracted"] == "B" and details["thinking_chars"] == len("<think>Is it (A)? No.</think>")
    assert by_case["q1"]["response"].startswith("<think>")  # the record keeps the raw text


def test_extraction_failures_and_truncation_are_counted(pytester: pytest.Pytester) -> None:
    rows = [{"id": "short", "question": "1+1", "answer": "2"},
            {"id": "long", "question": "long one",
             "answer": "Let me think about this carefully step by step first. #### 42"},
            {"id": "five", "question": "2+3", "answer": "5"}]
    _write(pytester, "num", "numeric", rows, "params: {max_tokens: 4}\n")
    pytester.makefile(".yaml", llmbench="models:\n  sim:default: {}\n")
    result = pytester.runpytest_subprocess("num.yaml", "--llmbench-models", "sim:default")
    result.assert_outcomes(passed=2, failed=1)
    result.stdout.fnmatch_lines(["*wrong answer: expected *, no answer extracted, "
                                 "truncated at max_tokens*"])
    by_case = {r["case_id"]: r for r in read_records(pytester)}
    assert by_case["long"]["truncated"] and by_case["long"]["extraction_failed"]
    assert by_case["long"]["score_details"]["truncated"] is True
    assert by_case["long"]["finish_reason"] == "length"
    assert not by_case["short"]["truncated"] and not by_case["short"]["extraction_failed"]
    (row,) = read_summary(pytester)
    assert row["extraction_failure_rate"] == pytest.approx(1 / 3)
    assert row["truncation_rate"] == pytest.approx(1 / 3)
    csv_header = (pytester.path / ".llmbench/runs/latest/summary.csv").read_text().splitlines()[0]
    assert "extraction_failure_rate" in csv_header and "truncation_rate" in csv_header


def test_gate_on_extraction_failure_rate(pytester: pytest.Pytester) -> None:
    _write(pytester, "mc", "choice", [{"id": f"q{i}", "question": "?", "answer": "A"}
                                      for i in range(4)])
    pytester.makefile(".yaml", llmbench="models:\n  inproc:fixed:\n    text: 'No idea.'\n")
    result = pytester.runpytest("mc.yaml", "--llmbench-models", "inproc:fixed",
                                "--llmbench-score-only",
                                "--llmbench-gate", "extraction_failure_rate<=0.1")
    assert result.ret != 0
    result.stdout.fnmatch_lines(["*extraction_failure_rate*"])
    assert read_summary(pytester)[0]["extraction_failure_rate"] == 1.0


def test_scorers_from_module_function_and_conftest_decorator(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(my_scorers="""
        from pytest_llmbench import Score

        def shouted(response, case):
            ok = response == str(case.expected).upper()
            return Score(1.0 if ok else 0.0, ok, {"extracted": response, "rule": "shouted"})
    """)
    pytester.makeconftest("""
        from pytest_llmbench import scorer

        @scorer("ends_with")
        def ends_with(response, case, suffix=""):
            return response.endswith(str(case.expected) + suffix)
    """)
    rows = [{"id": "a", "question": "?", "answer": "ok"}]
    _write(pytester, "by_module", "my_scorers:shouted", rows)
    _write(pytester, "by_decorator", "{name: ends_with, suffix: ''}", rows)
    _write(pytester, "bad_option", "{name: ends_with, sufix: '!'}", rows)
    pytester.syspathinsert()
    result = pytester.runpytest_subprocess("by_module.yaml", "by_decorator.yaml", "bad_option.yaml",
                                "--llmbench-models", "inproc:oracle", "-n", "2")
    result.assert_outcomes(passed=1, failed=1, errors=1)  # bad scorer option: collection error
    result.stdout.fnmatch_lines(["*bad_option.yaml: scorer 'ends_with': *sufix*"])
    by_suite = {r["suite"]: r for r in read_records(pytester)}
    assert by_suite["by_module"]["score_details"] == {
        "extracted": "ok", "rule": "shouted", "truncated": False}
    assert by_suite["by_decorator"]["outcome"] == "passed"
