"""End to end: serving suites run by pytest against the simulator (real HTTP, real runs)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

SUITE = """\
kind: serving
name: chat_load
prompts: {{input_tokens: "normal(32, 4)"}}
max_tokens: 16
ignore_eos: true
warmup: 2
requests: 12
slo: ["ttft_p99 <= 2s", "tpot_p50 <= 500ms"]
{extra}
scenarios:
  - concurrency: [1, 4]
  - rate: [40]
    slo: "ttft_p50 <= 0.001ms"
"""


CALM = "harness: {max_loop_lag_ms: 1000}  # the test machine is shared and busy"


def run_dir(pytester: pytest.Pytester) -> Path:
    return (pytester.path / ".llmbench" / "runs" / "latest").resolve()


def records(pytester: pytest.Pytester) -> list[dict]:
    text = (run_dir(pytester) / "records.jsonl").read_text()
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def test_sweep_one_test_per_point_slo_decides(pytester: pytest.Pytester, sim_env: str) -> None:
    pytester.makefile(".yaml", load=SUITE.format(extra=CALM))
    result = pytester.runpytest_subprocess("load.yaml", "--llmbench-models", "sim:perf",
                                           "-p", "no:cacheprovider")
    result.assert_outcomes(passed=2, failed=1)
    result.stdout.fnmatch_lines(["*llmbench serving*", "sim:perf/c4 *",
                                 "*FAILED load.yaml::chat_load?sim:perf/r40? - SLO ttft_p50*"])
    by_point = {r["case_id"]: r for r in records(pytester)}
    assert set(by_point) == {"c1", "c4", "r40"}
    c4 = by_point["c4"]["metrics"]
    assert c4["serving"]["completed"] == 12  # warm-up requests excluded
    assert c4["serving"]["output_tokens"] == 12 * 16  # ignore_eos + max_tokens honoured
    assert c4["serving"]["ttft_ms"]["p50"] >= 19  # the simulator's 20 ms TTFT
    assert c4["harness"]["unreliable"] is None
    samples = json.loads((run_dir(pytester) / c4["samples_file"]).read_text())["samples"]
    assert len(samples) == 12 and all(len(s["itl"]) >= 1 for s in samples)
    assert by_point["r40"]["outcome"] == "failed"


def test_xdist_records_keep_raw_samples(pytester: pytest.Pytester, sim_env: str) -> None:
    pytester.makefile(".yaml", load=SUITE.format(extra=CALM))
    result = pytester.runpytest_subprocess("load.yaml", "--llmbench-models", "sim:perf",
                                           "-n", "2", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=2, failed=1)
    recs = records(pytester)
    assert {r["worker"] for r in recs} <= {"gw0", "gw1"}
    bench = json.loads((run_dir(pytester) / "benchmarks.json").read_text())
    ttft = {b["param"]: b["stats"] for b in bench["benchmarks"] if b["name"].endswith("::ttft")}
    for rec in recs:  # the export is recomputed from raw samples and agrees with the record
        point = f"{rec['model']}/{rec['case_id']}"
        assert ttft[point]["median"] * 1000 == pytest.approx(
            rec["metrics"]["serving"]["ttft_ms"]["p50"])


def test_client_cpu_limit_marks_unreliable(pytester: pytest.Pytester, sim_env: str) -> None:
    pytester.makefile(".yaml", load=SUITE.format(extra="harness: {max_cpu: 0.0, max_loop_lag_ms: 1000}"))
    result = pytester.runpytest_subprocess("load.yaml", "--llmbench-models", "sim:perf",
                                           "-k", "c1", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=1, warnings=1)
    result.stdout.fnmatch_lines(["*UnreliableMeasurement*unreliable: client CPU*",
                                 "sim:perf/c1 *UNRELIABLE: client CPU*"])
    assert "client CPU" in records(pytester)[0]["metrics"]["harness"]["unreliable"]


def test_benchmarks_json_read_by_pytest_benchmark_compare(pytester: pytest.Pytester,
                                                         sim_env: str) -> None:
    pytester.makefile(".yaml", load=SUITE.format(extra=CALM))
    pytester.runpytest_subprocess("load.yaml", "--llmbench-models", "sim:perf", "-k", "c",
                                  "-p", "no:cacheprovider")
    path = run_dir(pytester) / "benchmarks.json"
    script = Path(sys.executable).parent / "pytest-benchmark"  # pytest-benchmark's own CLI
    done = subprocess.run([str(script), "compare", str(path),
                           "--group-by", "group", "--columns", "min,median,max"],
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    assert "chat_load[sim:perf/c4]::ttft" in done.stdout
    assert "benchmark 'chat_load:itl'" in done.stdout


def test_bad_serving_suite_is_a_collection_error(pytester: pytest.Pytester) -> None:
    pytester.makefile(".yaml", load="kind: serving\nscenarios:\n  - concurrency: 2\n")
    result = pytester.runpytest("load.yaml", "-p", "no:cacheprovider")
    result.stdout.fnmatch_lines(["*load.yaml:3: a scenario needs requests: N or duration*"])
    assert result.ret != 0


def test_every_request_failing_is_an_error_with_one_line(pytester: pytest.Pytester,
                                                        sim_env: str) -> None:
    pytester.makefile(".yaml", load=SUITE.format(extra=CALM))
    result = pytester.runpytest_subprocess("load.yaml", "--llmbench-models", "sim:no-such-model",
                                           "-k", "c1", "-p", "no:cacheprovider")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*ServingError: sim:no-such-model: all 12 requests failed; "
                                 "first: *NotFound*"])
    record = records(pytester)[0]
    assert record["outcome"] == "error" and record["metrics"]["serving"]["errors"] == 12
    assert record["error_kind"] == "provider" and "\n" not in record["error"]


ONE_TOKEN = """\
kind: serving
name: one_token
prompts: {input_tokens: "normal(32, 4)"}
max_tokens: 1
ignore_eos: true
requests: 6
slo: ["tpot_p99 <= 1ms", "goodput >= 0.01"]
harness: {max_loop_lag_ms: 1000}
scenarios:
  - concurrency: [2]
"""


def test_one_token_answers_meet_a_tpot_slo_as_in_vllm(pytester: pytest.Pytester,
                                                       sim_env: str) -> None:
    pytester.makefile(".yaml", load=ONE_TOKEN)
    result = pytester.runpytest_subprocess("load.yaml", "--llmbench-models", "sim:perf",
                                           "-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)
    (record,) = records(pytester)
    serving = record["metrics"]["serving"]
    assert serving["tpot_exempt"] == serving["completed"] == 6
    assert serving["tpot_ms"]["count"] == 0  # no TPOT figure is invented
    assert serving["goodput"] > 0
