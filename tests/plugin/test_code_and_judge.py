"""End to end through pytest: the code suite in both sandboxes, samples with pass@k,
the LLM judge (simulated, and through the real OpenAI client), and their options.

Runs that start the simulator go through ``runpytest_subprocess``: an in-process run
would import httpcore's lazily loaded modules inside pytester's sys.modules snapshot.
"""

from __future__ import annotations

import csv
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from pytest_llmbench.sim import SimServer
from tests.conftest import read_records, read_summary, write_suite
from tests.scoring.conftest import docker_or_skip

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def code_suite(pytester: pytest.Pytester) -> Path:
    (pytester.path / "data").mkdir()
    shutil.copy(ROOT / "bench_suites" / "data" / "python_functions.jsonl", pytester.path / "data")
    return Path(shutil.copy(ROOT / "bench_suites" / "python_functions.yaml", pytester.path))


def test_code_suite_in_the_subprocess_sandbox(pytester: pytest.Pytester, code_suite: Path) -> None:
    result = pytester.runpytest_subprocess("python_functions.yaml", "--llmbench-sandbox",
                                           "subprocess", "-v", "-W", "error")
    result.assert_outcomes(passed=8)
    result.stdout.fnmatch_lines(["*python_functions[[]sim:default/py001[]] PASSED*",
                                 "*speedup@1*"])
    records = read_records(pytester)
    details = records[0]["score_details"]
    assert details["backend"] == "subprocess" and details["status"] == "passed"
    assert details["extracted"].startswith("def running_max")
    timed = [r for r in records if "speedup" in r["score_details"]]
    assert len(timed) == 2 and all(r["score_details"]["runtime_s"] > 0 for r in timed)
    assert read_summary(pytester)[0]["speedup_at_1"] > 0


def test_code_suite_in_docker(pytester: pytest.Pytester, code_suite: Path,
                              request: pytest.FixtureRequest) -> None:
    docker_or_skip(request.config)
    result = pytester.runpytest_subprocess("python_functions.yaml", "--llmbench-sandbox",
                                           "docker", "-k", "py001 or py003")
    result.assert_outcomes(passed=2)
    details = read_records(pytester)[0]["score_details"]
    assert details["backend"] == "docker"
    assert details["isolation"]["network"] == "none"


def test_wrong_code_fails_the_test_with_the_test_output(pytester: pytest.Pytester) -> None:
    pytester.makefile(".yaml", code="""
        name: code
        prompt: "Write add(a, b)."
        scorer: {name: code, sandbox: subprocess, tests: test, entry_point: null}
        rows:
          - {id: add, test: "assert add(2, 3) == 5, 'add(2, 3) is wrong'",
             answer: "def add(a, b):\\n    return a + b"}
    """)
    pytester.makefile(".yaml", llmbench="""
        models:
          inproc:fixed: {text: "```python\\ndef add(a, b):\\n    return a - b\\n```"}
          inproc:oracle: {}
    """)
    result = pytester.runpytest("code.yaml", "--llmbench-models", "inproc:fixed,inproc:oracle")
    result.assert_outcomes(passed=1, failed=1)
    record = next(r for r in read_records(pytester) if r["model"] == "inproc:fixed")
    assert record["outcome"] == "failed"
    assert "AssertionError: add(2, 3) is wrong" in record["score_details"]["stderr"]


def test_samples_give_pass_at_k_per_model_and_suite(pytester: pytest.Pytester,
                                                    code_suite: Path) -> None:
    result = pytester.runpytest_subprocess("python_functions.yaml", "--llmbench-models",
                                           "sim:fast", "--llmbench-samples", "6",
                                           "--llmbench-sandbox", "subprocess",
                                           "--llmbench-score-only")
    result.assert_outcomes(passed=8)  # one test per item, whatever the samples
    result.stdout.fnmatch_lines(["*pass@1*pass@5*"])
    records = read_records(pytester)
    assert all(r["calls"] == 6 for r in records)
    correct = [r["score_details"]["correct"] for r in records]
    assert any(0 < c < 6 for c in correct), correct  # samples are separate draws
    for record in records:
        details = record["score_details"]
        assert len(details["per_sample"]) == 6
        assert record["score"] == pytest.approx(details["correct"] / 6)
    row = read_summary(pytester)[0]
    assert row["pass_at_1"] == pytest.approx(sum(correct) / 48)
    assert row["pass_at_1"] <= row["pass_at_5"] <= 1.0
    with (pytester.path / ".llmbench/runs/latest/summary.csv").open() as handle:
        header = next(csv.reader(handle))
    assert {"pass_at_1", "pass_at_5", "speedup_at_5", "opt_at_1"} <= set(header)


def test_suite_samples_and_pass_at_keys(pytester: pytest.Pytester) -> None:
    write_suite(pytester.path, extra="samples: 4\npass_at: [1, 2, 4]\n")
    result = pytester.runpytest_subprocess("arith.yaml", "--llmbench-models", "sim:fast",
                                           "--llmbench-gate", "pass_at_4>=0.9",
                                           "--llmbench-score-only")
    assert result.ret == pytest.ExitCode.OK
    row = read_summary(pytester)[0]
    assert {"pass_at_1", "pass_at_2", "pass_at_4"} <= set(row)
    assert read_records(pytester)[0]["calls"] == 4


def test_bad_samples_key_names_file_and_line(pytester: pytest.Pytester) -> None:
    write_suite(pytester.path, extra="samples: 0\n")
    result = pytester.runpytest("arith.yaml")
    result.stdout.fnmatch_lines(["*arith.yaml:5: 'samples' must be a positive integer*"])


@pytest.fixture(scope="module")
def judge_sim() -> Iterator[SimServer]:
    with SimServer() as server:
        yield server


def _judge_suite(pytester: pytest.Pytester) -> None:
    pytester.makefile(".yaml", open_questions="""
        name: open_questions
        prompt: "{question}"
        scorer: {name: judge, rubric: "Correct if it names the same city."}
        rows:
          - {id: q1, question: "What is the capital of France?", answer: Paris}
          - {id: q2, question: "What is the capital of Japan?", answer: Tokyo}
          - {id: q3, question: "What is the capital of Italy?", answer: Rome}
    """)


def test_judge_through_the_openai_client_from_the_models_config(
        pytester: pytest.Pytester, judge_sim: SimServer) -> None:
    _judge_suite(pytester)
    pytester.makefile(".yaml", llmbench=f"""
        models: [sim:default, inproc:wrong]
        judge:
          name: openai:judge
          base_url: {judge_sim.base_url}/v1
          api_key: sk-test
          max_retries: 0
    """)
    result = pytester.runpytest_subprocess("open_questions.yaml")
    result.assert_outcomes(passed=3, failed=3)
    records = {(r["model"], r["case_id"]): r for r in read_records(pytester)}
    right = records[("sim:default", "q1")]["score_details"]
    assert right["verdict"] == "correct" and right["judge"]["model"] == "openai:judge"
    assert "Correct if it names the same city." in right["judge"]["prompt"]
    assert right["judge"]["output_tokens"] > 0
    assert records[("inproc:wrong", "q2")]["score_details"]["verdict"] == "incorrect"


def test_judge_cost_is_recorded_apart(pytester: pytest.Pytester) -> None:
    _judge_suite(pytester)  # the simulator starts for the sim: judge alone
    pytester.makefile(".yaml", llmbench="""
        models:
          sim:judge: {price: {input_per_mtok: 1000, output_per_mtok: 2000}}
    """)
    result = pytester.runpytest_subprocess("open_questions.yaml", "--llmbench-judge", "sim:judge",
                                           "--llmbench-models", "inproc:oracle")
    result.assert_outcomes(passed=3)
    records = read_records(pytester)
    judge = records[0]["score_details"]["judge"]
    assert judge["model"] == "sim:judge" and judge["cost_usd"] > 0
    assert records[0]["judge_cost_usd"] == judge["cost_usd"]
    assert records[0]["cost_usd"] is None  # the benchmarked model's own cost stays apart
    total = sum(r["judge_cost_usd"] for r in records)
    assert read_summary(pytester)[0]["judge_cost_usd"] == pytest.approx(total)


def test_judge_without_a_model_is_a_clear_error(pytester: pytest.Pytester) -> None:
    _judge_suite(pytester)
    result = pytester.runpytest("open_questions.yaml", "--llmbench-models", "inproc:oracle")
    result.assert_outcomes(errors=1)  # the suite's scorer is built at collection
    result.stdout.fnmatch_lines(["*judge scorer: the judge scorer needs a model*"])


def test_require_docker_turns_a_missing_engine_into_errors(
        pytester: pytest.Pytester, code_suite: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DOCKER_HOST", f"unix://{pytester.path}/no-docker.sock")
    result = pytester.runpytest_subprocess("python_functions.yaml", "--llmbench-require-docker",
                                           "-k", "py001")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*SandboxUnavailable: no Docker engine*"])
    record = read_records(pytester)[0]
    assert record["outcome"] == "error" and "no Docker engine" in record["error"]


def test_bad_sandbox_option_is_a_usage_error(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest("--llmbench-sandbox", "chroot")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--llmbench-sandbox: invalid value 'chroot'*"])


def test_samples_under_xdist(pytester: pytest.Pytester) -> None:
    rows = [{"id": f"r{i:02d}", "question": str(i), "answer": str(i)} for i in range(12)]
    write_suite(pytester.path, rows=rows)
    result = pytester.runpytest_subprocess("arith.yaml", "--llmbench-models", "sim:fast",
                                           "--llmbench-samples", "5", "-n", "2", "-W", "error",
                                           "--llmbench-score-only")
    assert result.ret == pytest.ExitCode.OK
    records = read_records(pytester)
    assert len(records) == 12 and {r["calls"] for r in records} == {5}
    row = read_summary(pytester)[0]
    assert 0.5 < row["pass_at_1"] < 0.9 and row["pass_at_5"] > row["pass_at_1"]
