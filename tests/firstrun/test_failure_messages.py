"""A wrong answer's message points at its cause (issue 17, point 5)."""

from __future__ import annotations

import pytest


def test_code_item_shows_the_tests_error_not_the_reference(pytester: pytest.Pytester) -> None:
    pytester.makefile(".yaml", code="""
        name: code
        prompt: "Write add(a, b)."
        scorer: {name: code, sandbox: subprocess, tests: test, entry_point: null}
        rows:
          - {id: add, test: "assert add(2, 3) == 5, 'add(2, 3) is wrong'",
             answer: "def add(a, b):\\n    return a + b  # REFERENCE"}
    """)
    pytester.makefile(".yaml", llmbench="""
        models:
          inproc:fixed-minus: {text: "```python\\ndef add(a, b):\\n    return a - b\\n```"}
          inproc:fixed-indent: {text: "```python\\ndef add(a, b):\\nreturn a + b\\n```"}
    """)
    result = pytester.runpytest("code.yaml", "--llmbench-models",
                                "inproc:fixed-minus,inproc:fixed-indent")
    result.assert_outcomes(failed=2)
    out = result.stdout.str()
    result.stdout.fnmatch_lines([
        "*wrong answer: code failed: AssertionError: add(2, 3) is wrong*",
        "*wrong answer: code failed: IndentationError: expected an indented block*",
    ])
    assert "REFERENCE" not in out


def test_numeric_item_shows_the_expected_number(pytester: pytest.Pytester) -> None:
    pytester.makefile(".yaml", math="""
        name: math
        prompt: "{question}"
        scorer: numeric
        rows:
          - {id: m1, question: "Eggs?", answer: "She has 16 - 3 - 4 = 9 eggs, 9 * 2 = 18 dollars. #### 18"}
    """)
    pytester.makefile(".yaml", llmbench="""
        models:
          inproc:fixed: {text: "The answer is 20."}
    """)
    result = pytester.runpytest("math.yaml", "--llmbench-models", "inproc:fixed")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*wrong answer: expected '18', got '20'*"])
    assert "16 - 3 - 4" not in result.stdout.str()


def test_judge_item_shows_the_verdict_and_its_reason(pytester: pytest.Pytester) -> None:
    pytester.makefile(".yaml", open_questions="""
        name: open_questions
        prompt: "{question}"
        scorer: {name: judge, rubric: "Correct if it names the same city."}
        rows:
          - {id: q1, question: "What is the capital of France?", answer: Paris}
    """)
    result = pytester.runpytest_subprocess("open_questions.yaml", "--llmbench-judge",
                                           "sim:judge", "--llmbench-models", "inproc:wrong")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*wrong answer: judge sim:judge said incorrect: '*"])
    assert "got 'incorrect'" not in result.stdout.str()
