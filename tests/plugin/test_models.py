"""Naming models: CLI, BENCHMARK_MODELS, llmbench.yaml / pyproject, categories, ${ENV}."""

from __future__ import annotations

import pytest

from pytest_llmbench.config import ModelSpec, load_models_config, select_models
from pytest_llmbench.errors import ConfigError
from tests.conftest import read_records


def test_spec_splits_on_the_first_colon_only() -> None:
    spec = ModelSpec.parse("bedrock:us.anthropic.claude-opus-4-5-20251101-v1:0")
    assert spec.provider == "bedrock"
    assert spec.model == "us.anthropic.claude-opus-4-5-20251101-v1:0"
    with pytest.raises(ConfigError, match="is not provider:model"):
        ModelSpec.parse("gpt-4o")


def test_unknown_provider_is_a_usage_error_listing_known_ones(
        pytester: pytest.Pytester, suite_dir) -> None:
    result = pytester.runpytest("arith.yaml", "--llmbench-models", "nope:model")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--llmbench-models: unknown provider 'nope'*known: *inproc*sim*"])


def test_benchmark_models_env(pytester: pytest.Pytester, suite_dir,
                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BENCHMARK_MODELS", "inproc:echo")
    result = pytester.runpytest("arith.yaml", "-v", "--llmbench-score-only")
    result.stdout.fnmatch_lines(["*arith[[]inproc:echo/q001[]]*"])


def test_config_file_categories_params_and_env(pytester: pytest.Pytester, suite_dir,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MY_TEMP", "0.3")
    pytester.makefile(".yaml", llmbench="""
models:
  inproc:oracle:
    category: [fast]
    params: {temperature: "${MY_TEMP}", api_key: "${NOT_SET:-sk-secret}"}
  inproc:wrong:
    category: [slow]
  inproc:echo:
    enabled: false
    category: [fast]
""")
    result = pytester.runpytest("arith.yaml", "--llmbench-category", "fast")
    result.assert_outcomes(passed=10)
    record = read_records(pytester)[0]
    assert record["model"] == "inproc:oracle"
    assert record["params"] == {"temperature": "0.3", "api_key": "***"}
    run_json = (pytester.path / ".llmbench/runs/latest/run.json").read_text()
    assert "sk-secret" not in run_json


def test_missing_env_var_is_named(pytester: pytest.Pytester, suite_dir) -> None:
    pytester.makefile(".yaml", llmbench="models:\n  inproc:oracle:\n    api_key: ${LLMB_UNSET_VAR}\n")
    result = pytester.runpytest("arith.yaml")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*llmbench.yaml: model inproc:oracle needs environment "
                                 "variable LLMB_UNSET_VAR*"])


def test_pyproject_tool_section(tmp_path) -> None:
    (tmp_path / "pyproject.toml").write_text(
        '[tool.llmbench.models."inproc:oracle"]\nparams = {temperature = 0}\n'
        '[tool.llmbench.settings]\nconcurrency = 4\n')
    config = load_models_config(tmp_path)
    assert config.models[0].params == {"temperature": 0}
    assert config.settings == {"concurrency": 4}
    assert select_models(None, None, config, "sim:default")[0].name == "inproc:oracle"


def test_default_model_when_nothing_is_named(tmp_path) -> None:
    config = load_models_config(tmp_path)
    assert [m.name for m in select_models(None, None, config, "sim:default")] == ["sim:default"]
