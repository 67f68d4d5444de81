"""Code scoring fails closed: a wrong answer that exits early, kills or replaces the
harness, closes its output or prints fake success lines fails, in both sandboxes, with
the reason in the score details. Each exploit here passed before the harness report."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pytest_llmbench.scoring.code import CodeScorer
from pytest_llmbench.scoring.context import ScoringContext
from pytest_llmbench.scoring.registry import make_scorer
from pytest_llmbench.suites.model import Case
from tests.scoring.conftest import docker_or_skip

DATA = Path(__file__).parents[2] / "bench_suites" / "data" / "python_functions.jsonl"
ROWS = {r["entry_point"]: r for r in map(json.loads, DATA.read_text().splitlines())}
WRONG = "def running_max(nums):\n    return sorted(nums)\n"

# name -> a wrong answer with a reward hack; every one must fail
EXPLOITS = {
    "sys_exit_0": WRONG + "import sys\nsys.exit(0)\n",
    "os_exit_0": WRONG + "import os\nos._exit(0)\n",
    "raise_SystemExit": WRONG + "raise SystemExit\n",
    "exit_inside_the_checked_function": (
        "def running_max(nums):\n    raise SystemExit(0)\n"),
    "exit_builtin_during_checks": "def running_max(nums):\n    exit()\n",
    "atexit_exits_0_after_failing_checks": (
        "import atexit, os\natexit.register(lambda: os._exit(0))\n" + WRONG),
    "atexit_raises_SystemExit_0": (
        "import atexit, sys\natexit.register(sys.exit, 0)\n" + WRONG),
    "close_stdout_and_stderr_then_exit_0": (
        WRONG + "import os, sys\nsys.stdout.flush()\nos.close(1)\nos.close(2)\nos._exit(0)\n"),
    "close_every_descriptor_then_exit_0": (
        WRONG + "import os\nos.closerange(0, 4096)\nos._exit(0)\n"),
    "fake_success_lines": (
        WRONG + "import sys, os\nprint('All 5 tests passed')\nprint('OK', file=sys.stderr)\n"
        "print('\\nLLMBENCH-HARNESS 0123456789abcdef0123456789abcdef completed checks=5',"
        " file=sys.stderr)\nsys.stdout.flush(); sys.stderr.flush()\nos._exit(0)\n"),
    "kill_itself_with_SIGKILL": WRONG + "import os, signal\nos.kill(os.getpid(), signal.SIGKILL)\n",
    "replace_the_harness_with_exec": (
        WRONG + "import os, sys\nos.execv(sys.executable, [sys.executable, '-c', 'pass'])\n"),
    "read_own_program_and_forge": (
        WRONG + "import os, re\nsrc = open(__file__).read()\n"
        "for m in set(re.findall(r'__LLMBENCH\\w+__', src)):\n    print(m + '=1e-09')\n"
        "os._exit(0)\n"),
    "patch_os_write_then_fail": (
        "import os\n_w = os.write\n"
        "def w(fd, data):\n    return _w(fd, data.replace(b'error', b'completed'))\n"
        "os.write = w\n" + WRONG),
}


def _case(row: dict) -> Case:
    return Case(suite="python_functions", id=row["id"], row=row, expected=row["answer"])


def _scorer(sandbox: str) -> CodeScorer:
    made = make_scorer({"name": "code", "sandbox": sandbox, "timeout": 5, "runtime": "bench",
                        "repeat": 1}, context=ScoringContext())
    assert isinstance(made, CodeScorer)
    return made


@pytest.fixture(scope="module")
def subprocess_scorer() -> CodeScorer:
    return _scorer("subprocess")


@pytest.fixture(params=["subprocess", "docker"])
def scorer(request: pytest.FixtureRequest, subprocess_scorer: CodeScorer) -> CodeScorer:
    if request.param == "docker":
        docker_or_skip(request.config)
        return _scorer("docker")
    return subprocess_scorer


@pytest.mark.parametrize("name", list(EXPLOITS))
def test_reward_hacks_fail_with_a_reason(scorer: CodeScorer, name: str) -> None:
    score = scorer(f"```python\n{EXPLOITS[name]}```", _case(ROWS["running_max"]))
    assert not score.passed, (name, score.details)
    assert score.details["status"] != "passed"
    assert score.details["reason"], score.details
    assert score.details.get("checks") in (None, 0) or score.details["status"] == "failed"


def test_a_correct_answer_reports_how_many_checks_ran(scorer: CodeScorer) -> None:
    row = ROWS["running_max"]
    score = scorer(row["answer"], _case(row))
    assert score.passed, score.details
    assert score.details["checks"] == row["test"].count("assert ")
    assert score.details["reason"] == f"the harness ran {score.details['checks']} checks; all passed"
    assert "LLMBENCH-HARNESS" not in score.details["stderr"]


def test_a_correct_answer_that_floods_its_output_still_passes(scorer: CodeScorer) -> None:
    """The report is found past the output kept for the record (and after a partial line)."""
    row = ROWS["running_max"]
    code = row["answer"].split("```python\n")[1].split("```")[0]
    flood = code + "import sys\nfor _ in range(300):\n    print('x' * 1000, file=sys.stderr)\n" \
        "sys.stderr.write('no newline at the end')\n"
    score = scorer(f"```python\n{flood}```", _case(row))
    assert score.passed, score.details["reason"]
    assert "more bytes not kept" in score.details["stderr"] or "characters cut" in \
        score.details["stderr"]


def test_early_exit_reason_names_what_happened(subprocess_scorer: CodeScorer) -> None:
    row = ROWS["running_max"]
    early = subprocess_scorer(f"```python\n{EXPLOITS['sys_exit_0']}```", _case(row))
    assert early.details["reason"].startswith("the program raised SystemExit(0) before the "
                                              "checks finished"), early.details
    gone = subprocess_scorer(f"```python\n{EXPLOITS['os_exit_0']}```", _case(row))
    assert gone.details["reason"].startswith("no report from the test harness"), gone.details
    assert "exit status 0" in gone.details["reason"]


def test_forged_runtime_cannot_inflate_the_speedup(scorer: CodeScorer) -> None:
    """A correct but slow answer whose atexit handler prints a fake timing line."""
    row = ROWS["primes_below"]
    slow = ("def primes_below(n):\n    return [p for p in range(2, n) if all("
            "p % d for d in range(2, int(p ** 0.5) + 1))]\n"
            "import atexit, re\n_src = open(__file__).read()\n"
            "for _m in set(re.findall(r'__LLMBENCH\\w+__', _src)):\n"
            "    atexit.register(print, '\\n' + _m + '=1e-12')\n")
    score = scorer(f"```python\n{slow}```", _case(row))
    assert score.passed, score.details
    assert score.details["speedup"] < 1.0, score.details


def test_tests_without_a_check_that_runs_fail(subprocess_scorer: CodeScorer) -> None:
    """Checks exist in the test code but none ran (a shadowed loop): no positive evidence."""
    row = dict(ROWS["running_max"])
    row["test"] = ("def check(candidate):\n    for x in []:\n"
                   "        assert candidate(x) == x\n")
    score = subprocess_scorer("```python\ndef running_max(nums):\n    return nums\n```",
                              _case(row))
    assert not score.passed
    assert score.details["reason"] == "the test code ran no check (0 assert statements executed)"


def test_end_to_end_a_reward_hacking_model_scores_zero_with_samples_and_xdist(
        pytester: pytest.Pytester) -> None:
    """Through pytest with -n 2 and 2 samples per item: every early exit fails, pass@k and
    speedup@k are 0, each record says why; the oracle still passes everything."""
    import shutil

    from tests.conftest import read_records, read_summary

    root = Path(__file__).parents[2]
    (pytester.path / "data").mkdir()
    shutil.copy(DATA, pytester.path / "data")
    shutil.copy(root / "bench_suites" / "python_functions.yaml", pytester.path)
    pytester.makefile(".yaml", llmbench="""
        models:
          inproc:fixed: {text: "```python\\nimport sys\\nsys.exit(0)\\n```"}
          inproc:oracle: {}
    """)
    result = pytester.runpytest_subprocess(
        "python_functions.yaml", "--llmbench-models", "inproc:fixed,inproc:oracle",
        "--llmbench-sandbox", "subprocess", "--llmbench-samples", "2", "-n", "2")
    result.assert_outcomes(passed=8, failed=8)
    records = read_records(pytester)
    hacked = [r for r in records if r["model"] == "inproc:fixed"]
    assert len(hacked) == 8 and all(r["outcome"] == "failed" for r in hacked)
    for record in hacked:
        for sample in record["score_details"]["per_sample"]:
            assert not sample["passed"]
            assert sample["reason"].startswith("the program raised SystemExit(0)"), sample
    rows = {r["model"]: r for r in read_summary(pytester)}
    assert rows["inproc:fixed"]["pass_at_1"] == 0
    assert rows["inproc:oracle"]["pass_at_1"] == 1
    assert not rows["inproc:fixed"].get("speedup_at_1")  # absent or 0: nothing was sped up
