"""The code scorer: extracting code from real-looking answers and running it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pytest_llmbench.scoring.code import CodeScorer, build_program, extract_code
from pytest_llmbench.scoring.context import ScoringContext
from pytest_llmbench.scoring.registry import make_scorer
from pytest_llmbench.suites.model import Case

DATA = Path(__file__).parents[2] / "bench_suites" / "data" / "python_functions.jsonl"
ROWS = [json.loads(line) for line in DATA.read_text().splitlines()]


@pytest.mark.parametrize(("text", "expected"), [
    ("```python\ndef f():\n    return 1\n```", "def f():\n    return 1"),
    ("Sure! Here it is:\n\n```py\ndef f(): return 1\n```\nHope it helps.", "def f(): return 1"),
    ("```\nx = 1\n```", "x = 1"),
    ("First a test:\n```python\nassert f() == 1\n```\nNow the code:\n```python\n"
     "def f():\n    return 1\n```", "def f():\n    return 1"),            # the block defining f
    ("```python\ndef f():\n    return 1", "def f():\n    return 1"),         # truncated fence
    ("<think>```python\nbad\n```</think>```python\ndef f(): pass\n```", "def f(): pass"),
    ("def f():\n    return 1\n", "def f():\n    return 1"),                  # bare code
    ("I cannot help with that.", None),
    ("```python\n\n```", None),
])
def test_extract_code(text: str, expected: str | None) -> None:
    assert extract_code(text, "f") == expected


def _case(row: dict) -> Case:
    return Case(suite="python_functions", id=row["id"], row=row, expected=row["answer"])


def test_build_program_completes_a_stub_or_adds_its_imports() -> None:
    row = {"prompt": "from typing import List\n\ndef g(x: List[int]) -> int:\n    \"\"\"doc\"\"\"\n",
           "entry_point": "g", "test": "def check(c):\n    assert c([1]) == 1"}
    case = Case("s", "c1", row)
    body = build_program("    return x[0]\n", case, tests="test", entry_point="entry_point",
                         prompt_field="prompt")
    assert body.startswith("from typing import List\n\ndef g(") and "check(g)" in body
    full = build_program("def g(x: List[int]) -> int:\n    return x[0]", case, tests="test",
                         entry_point="entry_point", prompt_field="prompt")
    assert full.startswith("from typing import List\n\ndef g(x: List[int])")


@pytest.fixture(scope="module")
def scorer() -> CodeScorer:
    made = make_scorer({"name": "code", "sandbox": "subprocess", "timeout": 5,
                        "runtime": "bench", "repeat": 1}, context=ScoringContext())
    assert isinstance(made, CodeScorer)
    return made


@pytest.mark.parametrize("row", ROWS, ids=[r["id"] for r in ROWS])
def test_every_bundled_reference_solution_passes(scorer: CodeScorer, row: dict) -> None:
    score = scorer(row["answer"], _case(row))
    assert score.passed, score.details
    assert score.details["backend"] == "subprocess"
    if "bench" in row:
        assert score.details["runtime_s"] > 0 and score.details["speedup"] > 0


def test_wrong_solution_fails_with_the_test_output(scorer: CodeScorer) -> None:
    row = next(r for r in ROWS if r["entry_point"] == "running_max")
    wrong = "```python\ndef running_max(nums):\n    return sorted(nums)\n```"
    score = scorer(wrong, _case(row))
    assert not score.passed and not score.extraction_failed
    assert score.details["status"] == "failed"
    assert "AssertionError" in score.details["stderr"]
    assert "check(running_max)" in score.details["stderr"]


def test_a_slow_solution_has_a_speedup_below_one(scorer: CodeScorer) -> None:
    row = next(r for r in ROWS if r["entry_point"] == "primes_below")
    slow = ("```python\ndef primes_below(n):\n    return [p for p in range(2, n) if all("
            "p % d for d in range(2, int(p ** 0.5) + 1))]\n```")
    score = scorer(slow, _case(row))
    assert score.passed, score.details["stderr"]
    assert score.details["speedup"] < 1.0
    assert score.details["reference_runtime_s"] < score.details["runtime_s"]


def test_a_wrong_timed_answer_counts_zero_speedup(scorer: CodeScorer) -> None:
    from pytest_llmbench.results.summary import per_k_values

    row = next(r for r in ROWS if r["entry_point"] == "primes_below")
    score = scorer("```python\ndef primes_below(n):\n    return []\n```", _case(row))
    assert not score.passed and score.details["speedup"] is None
    record = {"score_details": score.details}
    assert per_k_values(record, "failed") == {"speedup_at_1": 0.0}  # as documented


def test_timed_samples_that_all_fail_count_zero_opt_at_k(scorer: CodeScorer) -> None:
    from pytest_llmbench.scoring.passk import aggregate

    row = next(r for r in ROWS if r["entry_point"] == "primes_below")
    answers = ["```python\ndef primes_below(n):\n    return []\n```", "I cannot."]
    details = aggregate([scorer(a, _case(row)) for a in answers], answers, [1, 2]).details
    assert details["opt_at"] == {"1": 0.0, "2": 0.0}  # not left out of the mean
    assert details["speedup_at"] == {"1": 0.0, "2": 0.0}


def test_no_code_is_an_extraction_failure(scorer: CodeScorer) -> None:
    score = scorer("I am not sure.", _case(ROWS[0]))
    assert score.extraction_failed and not score.passed


def test_unknown_sandbox_is_a_config_error() -> None:
    from pytest_llmbench.errors import ConfigError

    with pytest.raises(ConfigError, match="sandbox must be one of"):
        make_scorer({"name": "code", "sandbox": "chroot"}, context=ScoringContext())
