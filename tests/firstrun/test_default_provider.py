"""Bare model ids with a default provider, as the seed runner passes them (issue 17, 15)."""

from __future__ import annotations

import json

import pytest


def _models(pytester: pytest.Pytester) -> list[str]:
    info = pytester.path / ".llmbench" / "runs" / "latest" / "run.json"
    return [m["name"] for m in json.loads(info.read_text())["models"]]


def test_env_vars_as_the_seed_runner_sets_them(pytester: pytest.Pytester, suite_dir,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BENCHMARK_MODELS", "oracle,wrong,inproc:echo")
    monkeypatch.setenv("BENCHMARK_PROVIDER", "inproc")
    result = pytester.runpytest("arith.yaml", "-k", "q001")
    result.assert_outcomes(passed=1, failed=2)
    assert _models(pytester) == ["inproc:oracle", "inproc:wrong", "inproc:echo"]


def test_bedrock_ids_with_colons_stay_whole(pytester: pytest.Pytester, suite_dir) -> None:
    result = pytester.runpytest(
        "arith.yaml", "--co", "-q", "--llmbench-provider", "bedrock", "--llmbench-models",
        "us.anthropic.claude-opus-4-5-20251101-v1:0,amazon.nova-pro-v1:0,inproc:oracle")
    result.stdout.fnmatch_lines([
        "arith.yaml::arith[[]bedrock:us.anthropic.claude-opus-4-5-20251101-v1:0/q001[]]",
        "*arith[[]bedrock:amazon.nova-pro-v1:0/q001[]]",
        "*arith[[]inproc:oracle/q001[]]",
    ])


def test_unknown_default_provider_is_a_usage_error(pytester: pytest.Pytester, suite_dir) -> None:
    result = pytester.runpytest("arith.yaml", "--llmbench-provider", "nope",
                                "--llmbench-models", "x")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["ERROR: --llmbench-provider: unknown provider 'nope'*"])
