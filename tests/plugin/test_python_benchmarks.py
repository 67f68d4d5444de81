"""Benchmarks written in Python with the llm, bench_case and bench_record fixtures."""

from __future__ import annotations

import pytest

from tests.conftest import read_records


def test_marked_python_benchmark_with_custom_metric(pytester: pytest.Pytester, suite_dir) -> None:
    pytester.makepyfile(test_bench="""
        import pytest

        @pytest.mark.llmbench(suite="arith.yaml")
        def test_arith(bench_case, llm, bench_record):
            answer = llm.complete(f"What is {bench_case.row['question']}?", system="Be brief.")
            bench_record.metric("answer_length", len(answer.text))
            assert answer.text.strip() == bench_case.expected
    """)
    result = pytester.runpytest("test_bench.py", "--llmbench-models", "inproc:oracle", "-v")
    result.assert_outcomes(passed=10)
    result.stdout.fnmatch_lines(["*test_arith[[]inproc:oracle/q001[]] PASSED*"])
    record = read_records(pytester)[0]
    assert record["suite"] == "arith" and record["metrics"] == {"answer_length": 1}
    assert record["prompt"][0] == {"role": "system", "content": "Be brief."}
    assert record["calls"] == 1 and record["latency_s"] is not None


def test_inline_rows_prefetched_response_and_async_test(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_bench="""
        import asyncio
        import pytest

        ROWS = [{"id": "a", "prompt": "say a", "answer": "a"}]

        @pytest.mark.llmbench(rows=ROWS, name="inline")
        def test_inline(bench_response, bench_case, bench_record):
            bench_record.set_score(bench_response.text == bench_case.expected, note="ok")

        def test_model_only(llm):
            async def go():
                return await llm.acomplete("hello there")
            assert asyncio.run(go()).text == "hello there"
    """)
    result = pytester.runpytest("test_bench.py", "--llmbench-models", "inproc:echo", "-v")
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines(["*test_model_only[[]inproc:echo[]] PASSED*"])
    records = {r["suite"]: r for r in read_records(pytester)}
    assert records["inline"]["outcome"] == "failed"  # echo != expected, scored not asserted
    assert records["inline"]["score_details"] == {"note": "ok"}
    assert records["test_model_only"]["response"] == "hello there"


def test_bench_case_without_a_suite_is_a_clear_error(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_bench="def test_x(bench_case):\n    pass\n")
    result = pytester.runpytest("test_bench.py", "--llmbench-models", "inproc:oracle")
    result.stdout.fnmatch_lines(["*uses bench_case but has no @pytest.mark.llmbench(suite=...)*"])


def test_hooks_customise_records_and_run_info(pytester: pytest.Pytester, suite_dir) -> None:
    pytester.makeconftest("""
        def pytest_llmbench_update_record(record, item):
            record["metrics"]["nodeid_len"] = len(item.nodeid)
        def pytest_llmbench_update_run_info(info):
            info["team"] = "evals"
    """)
    pytester.runpytest("arith.yaml", "--llmbench-models", "inproc:oracle")
    assert read_records(pytester)[0]["metrics"]["nodeid_len"] > 10
    run = (pytester.path / ".llmbench/runs/latest/run.json").read_text()
    assert '"team": "evals"' in run
