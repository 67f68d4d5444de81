"""Bad suites and configs: each a clear line naming file and line; the other suites run."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import read_records, write_suite

MODELS = ("--llmbench-models", "inproc:oracle", "-p", "no:cacheprovider", "-p", "no:xdist")


def _good_and_bad(pytester: pytest.Pytester, bad: str, data: bytes | None = None) -> None:
    """``good.yaml`` (10 items) beside ``bad.yaml`` with the text given."""
    write_suite(pytester.path, name="good")
    if data is not None:
        (pytester.path / "bad.jsonl").write_bytes(data)
    (pytester.path / "bad.yaml").write_text(bad, encoding="utf-8")


def _run_both(pytester: pytest.Pytester, line: str) -> pytest.RunResult:
    result = pytester.runpytest("good.yaml", "bad.yaml", *MODELS)
    assert result.ret == pytest.ExitCode.TESTS_FAILED  # the broken suite's collection error
    result.assert_outcomes(passed=10, errors=1)  # ...and the good suite ran
    result.stdout.fnmatch_lines([f"*/{line}"])
    assert len(read_records(pytester)) == 10
    return result


BAD_SUITES = {
    "unbalanced template": (
        "name: bad\nrows:\n  - {question: a, answer: a}\nprompt: 'What is {question?'\n",
        None, "bad.yaml:4: unbalanced '{' in 'prompt': {question has no closing '}' "
        "(write {{ for a literal brace)"),
    "empty dataset file": (
        "name: bad\ndataset: bad.jsonl\nprompt: '{question}'\n", b"\n",
        "bad.yaml:2: dataset bad.jsonl has no rows (an empty suite would run nothing)"),
    "empty inline rows": (
        "name: bad\nrows: []\nprompt: '{question}'\n", None,
        "bad.yaml:2: 'rows' has no rows (an empty suite would run nothing)"),
    "unknown dataset key": (
        "name: bad\ndataset:\n  path: bad.jsonl\n  fromat: jsonl\nprompt: '{question}'\n",
        b'{"question": "q", "answer": "a"}\n',
        "bad.yaml:4: unknown key 'fromat' in 'dataset' (a 'path' dataset takes format, "
        "id_field, path)"),
    "duplicate key": (
        "name: bad\nrows:\n  - {question: a, answer: a}\nprompt: '{question}'\n"
        "expected: answer\nprompt: 'other {question}'\n", None,
        "bad.yaml:6: invalid YAML: duplicate key 'prompt' (first at line 4)"),
    "duplicate key in a row": (
        "name: bad\nrows:\n  - {question: a, answer: a, answer: b}\nprompt: '{question}'\n",
        None, "bad.yaml:3: invalid YAML: duplicate key 'answer' (first at line 3)"),
    "non-UTF-8 dataset": (
        "name: bad\ndataset: bad.jsonl\nprompt: '{question}'\n",
        b'{"question": "q1", "answer": "a"}\n{"question": "caf\xe9", "answer": "a"}\n',
        "bad.jsonl:2: not UTF-8: byte 0xe9 at column 18 (save the file as UTF-8)"),
    "bad suite gate": (
        "name: bad\nrows:\n  - {question: a, answer: a}\nprompt: '{question}'\n"
        "gates: ['accuracy>=lots']\n", None, "bad.yaml:5: gates: bad value 'lots' in gate 'accuracy>=lots'"),
    "unknown gate metric": (
        "name: bad\nrows:\n  - {question: a, answer: a}\nprompt: '{question}'\n"
        "gates:\n  acuracy: '>=0.5'\n", None,
        "bad.yaml:5: gates: unknown gate metric 'acuracy'*"),
}


@pytest.mark.parametrize("case", list(BAD_SUITES))
def test_bad_suite_is_its_own_collection_error_and_the_good_one_runs(
        pytester: pytest.Pytester, case: str) -> None:
    text, data, line = BAD_SUITES[case]
    _good_and_bad(pytester, text, data)
    _run_both(pytester, line)


def test_non_utf8_suite_file_names_its_line(pytester: pytest.Pytester) -> None:
    write_suite(pytester.path, name="good")
    (pytester.path / "bad.yaml").write_bytes(
        b"name: bad\nrows:\n  - {question: a, answer: a}\n# caf\xe9\nprompt: '{question}'\n")
    _run_both(pytester, "bad.yaml:4: not UTF-8: byte 0xe9 at column 6 (save the file as UTF-8)")


def test_json_braces_in_a_prompt_are_not_an_unbalanced_template(
        pytester: pytest.Pytester) -> None:
    write_suite(pytester.path, extra="system: 'Answer as {answer: N} or {\"a\": 1}'\n")
    result = pytester.runpytest("arith.yaml", *MODELS)
    assert result.ret == 0


def test_id_field_inside_dataset_is_honoured(pytester: pytest.Pytester) -> None:
    rows = [{"key": f"k{i}", "question": str(i), "answer": str(i)} for i in range(3)]
    (pytester.path / "d.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    (pytester.path / "s.yaml").write_text(
        "name: s\ndataset: {path: d.jsonl, id_field: key}\nprompt: '{question}'\n")
    result = pytester.runpytest("s.yaml", *MODELS)
    assert result.ret == 0
    assert {r["case_id"] for r in read_records(pytester)} == {"k0", "k1", "k2"}


MODELS_CONFIGS = {
    "duplicate key": ("models:\n  inproc:oracle:\n    label: a\n    label: b\n",
                      "llmbench.yaml:4: invalid YAML: duplicate key 'label' (first at line 3)"),
    "duplicate model": ("models:\n  inproc:oracle: {}\n  inproc:oracle: {}\n",
                        "llmbench.yaml:3: invalid YAML: duplicate key 'inproc:oracle' "
                        "(first at line 2)"),
    "unclosed ${": ("models:\n  inproc:oracle:\n    label: x\n    api_key: ${ORACLE_KEY\n",
                    "llmbench.yaml:4: malformed environment reference '${ORACLE_KEY' "
                    "(write ${VAR} or ${VAR:-default})"),
    "bad variable name": ("settings:\n  timeout: ${1X:-5}\nmodels:\n  - inproc:oracle\n",
                          "llmbench.yaml:2: malformed environment reference '${1X:-5}'*"),
}


@pytest.mark.parametrize("case", list(MODELS_CONFIGS))
def test_bad_models_config_is_a_usage_error_naming_file_and_line(
        pytester: pytest.Pytester, case: str) -> None:
    text, line = MODELS_CONFIGS[case]
    write_suite(pytester.path)
    (pytester.path / "llmbench.yaml").write_text(text)
    result = pytester.runpytest_subprocess("arith.yaml", "-p", "no:cacheprovider")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([f"ERROR: {pytester.path}/{line}"])
    assert not (pytester.path / ".llmbench").exists()  # nothing ran


def test_simulator_config_rejects_duplicate_keys(tmp_path: Path) -> None:
    from pytest_llmbench.sim.config import SimConfigError, load_config

    path = tmp_path / "sim.yaml"
    path.write_text("seed: 1\nseed: 2\n")
    with pytest.raises(SimConfigError, match="duplicate key 'seed'"):
        load_config(path)


VARIANT_SUITE = """\
name: v
rows:
  - {id: a, question: a, answer: a}
prompt: '{question}'
variants:
  plain: {}
  terse: {system: 'Be terse.'}
"""


def test_unknown_variant_names_warn_and_the_known_ones_run(pytester: pytest.Pytester) -> None:
    (pytester.path / "v.yaml").write_text(VARIANT_SUITE)
    result = pytester.runpytest("v.yaml", *MODELS, "--llmbench-variants", "terse,tres")
    assert result.ret == 0
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["*PytestConfigWarning: --llmbench-variants: no suite of this "
                                 "run declares 'tres' (declared: plain, terse)"])
    assert [r["variant"] for r in read_records(pytester)] == ["terse"]
