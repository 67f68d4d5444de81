"""Variant ids, --llmbench-variants, -k, Python benchmarks and bad variant declarations."""

from __future__ import annotations

import pytest

from tests.conftest import read_records
from tests.variants.conftest import write_variant_suite


def test_ids_carry_the_variant_and_records_name_it(pytester: pytest.Pytester,
                                                   variant_dir) -> None:
    result = pytester.runpytest("arith.yaml", "--llmbench-models", "inproc:echo", "-v",
                                "--llmbench-score-only", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=40)
    result.stdout.fnmatch_lines(["*arith.yaml::arith[[]inproc:echo/ask/q001[]] PASSED*",
                                 "*arith.yaml::arith[[]inproc:echo/answer_first/q001[]] PASSED*",
                                 "*arith.yaml::arith[[]inproc:echo/fitted/q010[]] PASSED*"])
    records = read_records(pytester)
    by_variant = {r["variant"]: r for r in records if r["case_id"] == "q002"}
    assert set(by_variant) == {"ask", "answer_first", "shots", "fitted"}
    assert by_variant["answer_first"]["prompt"] == [{"role": "user", "content": "4"}]
    assert by_variant["answer_first"]["outcome"] == "passed"
    assert by_variant["ask"]["outcome"] == "failed"
    shots = by_variant["shots"]["prompt"]
    assert [m["content"] for m in shots[0:4]] == ["What is 1 * 3?", "3", "What is 2 * 3?", "6"]
    assert by_variant["fitted"]["prompt"][0] == {"role": "system",
                                                 "content": "Fitted system prompt."}


def test_variant_params_go_over_the_model_params(pytester: pytest.Pytester, variant_dir) -> None:
    pytester.makefile(".yaml", llmbench="models:\n  inproc:echo:\n    params: {temperature: 0}\n")
    pytester.runpytest("arith.yaml", "--llmbench-models", "inproc:echo", "-p", "no:cacheprovider",
                       "--llmbench-score-only")
    params = {r["variant"]: r["params"] for r in read_records(pytester)}
    assert params["ask"] == {"temperature": 0}  # the record keeps the model's own params


def test_select_variants_by_option_and_by_k(pytester: pytest.Pytester, variant_dir) -> None:
    result = pytester.runpytest("arith.yaml", "--llmbench-models", "inproc:echo",
                                "--llmbench-variants", "ask,answer_first", "--collect-only", "-q")
    result.stdout.fnmatch_lines(["*20 tests collected*"])
    assert "shots" not in result.stdout.str()
    result = pytester.runpytest("arith.yaml", "--llmbench-models", "inproc:echo", "-k",
                                "answer_first", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=10, deselected=30)
    assert {r["variant"] for r in read_records(pytester)} == {"answer_first"}


def test_a_suite_without_variants_has_no_variant_segment(pytester: pytest.Pytester) -> None:
    from tests.conftest import write_suite

    write_suite(pytester.path)
    result = pytester.runpytest("arith.yaml", "--llmbench-models", "inproc:oracle",
                                "--llmbench-variants", "ask", "--collect-only", "-q")
    result.stdout.fnmatch_lines(["arith.yaml::arith[[]inproc:oracle/q001[]]"])


def test_unknown_variant_names_the_suite(pytester: pytest.Pytester, variant_dir) -> None:
    result = pytester.runpytest("arith.yaml", "--llmbench-models", "inproc:echo",
                                "--llmbench-variants", "nope")
    result.stdout.fnmatch_lines(["*arith.yaml: --llmbench-variants nope: suite 'arith' has none "
                                 "of these (its variants: ask, answer_first, shots, fitted)*"])
    assert result.ret != 0


@pytest.mark.parametrize(("variants", "message"), [
    ("variants:\n  x:\n    sytem: hi\n", "*arith.yaml:6: variant 'x': unknown key 'sytem'*"),
    ("variants:\n  x:\n    few_shot: 2\n", "*arith.yaml:6: variant 'x': few_shot: 2 needs a "
     "'train' split of at least 2 rows (the suite has 0)*"),
    ("variants:\n  x:\n    prompt: '{nofield}'\n", "*variant 'x': case 'q001' has no field "
     "'nofield'*"),
    ("variants:\n  x:\n    optimizer: nocolon\n", "*variant 'x': 'optimizer' must be "
     "'module:function'*"),
])
def test_bad_variants_are_one_line_errors(pytester: pytest.Pytester, variants: str,
                                          message: str) -> None:
    from tests.conftest import write_suite

    write_suite(pytester.path, extra=variants)
    result = pytester.runpytest("arith.yaml", "--llmbench-models", "inproc:echo")
    result.stdout.fnmatch_lines([message])


def test_optimizer_that_fails_is_an_error_naming_the_variant(pytester: pytest.Pytester) -> None:
    write_variant_suite(pytester.path, "variants:\n  bad:\n    optimizer: fitter:missing\n")
    result = pytester.runpytest("arith.yaml", "--llmbench-models", "inproc:echo",
                                "-p", "no:cacheprovider")
    result.assert_outcomes(errors=10)
    result.stdout.fnmatch_lines(["*arith.yaml: variant 'bad': optimizer fitter:missing: fitter "
                                 "has no function 'missing'*"])


def test_python_benchmark_gets_bench_variant(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_bench="""
        import pytest
        from pytest_llmbench import Variant

        ROWS = [{"id": "a", "prompt": "say a", "answer": "a"},
                {"id": "b", "prompt": "say b", "answer": "b"}]
        VARIANTS = [Variant("plain"), Variant("answer", prompt="{answer}")]

        @pytest.mark.llmbench(rows=ROWS, name="inline", variants=VARIANTS)
        def test_inline(bench_response, bench_case, bench_variant, bench_record):
            bench_record.metric("variant_seen", bench_variant.name)
            assert bench_response.text == bench_case.expected
    """)
    result = pytester.runpytest("test_bench.py", "--llmbench-models", "inproc:echo", "-v",
                                "-p", "no:cacheprovider")
    result.assert_outcomes(passed=2, failed=2)
    result.stdout.fnmatch_lines(["*test_inline[[]inproc:echo/answer/a[]] PASSED*"])
    records = read_records(pytester)
    assert {(r["variant"], r["metrics"]["variant_seen"]) for r in records} == {
        ("plain", "plain"), ("answer", "answer")}
