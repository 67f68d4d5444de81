"""The models config: the batch runner's shape works, unknown keys are errors with their
line, display names show in the tables (issue 17, point 19)."""

from __future__ import annotations

import pytest

from tests.conftest import read_records, read_summary

BATCH_SHAPE = """\
models:
  - name: oracle
    provider: inproc
    display_name: Oracle (in-process)
    enabled: true
    api_key: ${ORACLE_KEY:-not-secret}
    settings:
      max_tokens: 2048
      temperature: 0.2
      timeout: 30
  - name: wrong
    provider: inproc
    enabled: false
"""


def test_batch_runner_shape(pytester: pytest.Pytester, suite_dir) -> None:
    pytester.makefile(".yaml", llmbench=BATCH_SHAPE)
    result = pytester.runpytest("arith.yaml", "-k", "q001 or q002")
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines(["arith *Oracle (in-process) *2 *2 *0 *0 *100.0%*"])
    record = read_records(pytester)[0]
    assert record["model"] == "inproc:oracle"
    assert record["params"] == {"max_tokens": 2048, "temperature": 0.2}
    assert read_summary(pytester)[0]["label"] == "Oracle (in-process)"


def test_unknown_key_names_file_and_line(pytester: pytest.Pytester, suite_dir) -> None:
    pytester.makefile(".yaml", llmbench="models:\n  - name: inproc:oracle\n    label: o\n"
                                        "    max_tokns: 2048\n")
    result = pytester.runpytest("arith.yaml")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["ERROR: */llmbench.yaml:4: model inproc:oracle: unknown key "
                                 "'max_tokns' (generation params go under 'params:' or "
                                 "'settings:'*"])


def test_unknown_key_in_mapping_form(pytester: pytest.Pytester, suite_dir) -> None:
    pytester.makefile(".yaml", llmbench="models:\n  inproc:oracle:\n    displayname: o\n")
    result = pytester.runpytest("arith.yaml")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["ERROR: */llmbench.yaml:3: model inproc:oracle: unknown key "
                                 "'displayname'*"])
