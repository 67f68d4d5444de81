"""Installing the plugin never turns a project's other YAML into suites (issue 17, point 1)."""

from __future__ import annotations

import pytest

from tests.conftest import write_suite

HYDRA = "defaults:\n  - model: resnet\n  - _self_\ndataset: cifar10\nprompt: not a suite\n"


def _project(pytester: pytest.Pytester) -> None:
    conf = pytester.mkdir("conf")
    (conf / "config.yaml").write_text(HYDRA)
    pytester.makepyfile(test_model="def test_ok():\n    assert True\n")


def test_unrelated_yaml_is_never_a_suite(pytester: pytest.Pytester) -> None:
    _project(pytester)
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)
    assert "unknown key" not in result.stdout.str()
    assert result.ret == 0


def test_suite_named_on_the_command_line(pytester: pytest.Pytester) -> None:
    _project(pytester)
    other = pytester.mkdir("evals")
    write_suite(other)
    result = pytester.runpytest("evals/arith.yaml", "--llmbench-models", "inproc:oracle")
    result.assert_outcomes(passed=10)
    # the folder itself is not configured: naming it runs nothing from it
    result = pytester.runpytest("evals", "--llmbench-models", "inproc:oracle")
    assert result.ret == pytest.ExitCode.NO_TESTS_COLLECTED


def test_default_bench_suites_folder(pytester: pytest.Pytester) -> None:
    _project(pytester)
    folder = pytester.mkdir("bench_suites")
    write_suite(folder)
    (folder / "notes.yaml").write_text("owner: team-a\n")  # no suite keys: ignored
    result = pytester.runpytest("--llmbench-models", "inproc:oracle")
    result.assert_outcomes(passed=11)
    result = pytester.runpytest("bench_suites", "--llmbench-models", "inproc:oracle")
    result.assert_outcomes(passed=10)


def test_ini_folders_and_globs(pytester: pytest.Pytester) -> None:
    _project(pytester)
    pytester.makeini("[pytest]\nllmbench_suites =\n    evals\n    more/*_suite.yaml\n")
    write_suite(pytester.mkdir("evals"))
    more = pytester.mkdir("more")
    write_suite(more, name="x_suite")
    write_suite(more, name="other")  # does not match the glob
    write_suite(pytester.mkdir("bench_suites"), name="default_one")  # default replaced
    result = pytester.runpytest("--llmbench-models", "inproc:oracle", "--co", "-q")
    out = result.stdout.str()
    assert "evals/arith.yaml::arith[inproc:oracle/q001]" in out
    assert "more/x_suite.yaml::x_suite[inproc:oracle/q001]" in out
    assert "other.yaml" not in out and "default_one" not in out


def test_declared_suite_anywhere(pytester: pytest.Pytester) -> None:
    _project(pytester)
    folder = pytester.mkdir("anywhere")
    write_suite(folder, extra="kind: suite\n")
    result = pytester.runpytest("--llmbench-models", "inproc:oracle")
    result.assert_outcomes(passed=11)


def test_models_config_names_agree() -> None:
    from pytest_llmbench.config import CONFIG_FILE_NAMES
    from pytest_llmbench.suites.discovery import MODELS_CONFIG_NAMES

    assert tuple(MODELS_CONFIG_NAMES) == tuple(CONFIG_FILE_NAMES)
