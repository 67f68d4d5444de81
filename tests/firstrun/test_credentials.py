"""A model without its API key stops the run with one line (issue 17, point 3)."""

from __future__ import annotations

import pytest


@pytest.fixture
def no_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("OPENAI_API_KEY", "ANTHROPIC_API_KEY", "ANTHROPIC_AUTH_TOKEN", "GROQ_API_KEY"):
        monkeypatch.delenv(name, raising=False)


def test_missing_key_is_one_usage_error_before_the_run(pytester: pytest.Pytester, suite_dir,
                                                        no_keys) -> None:
    result = pytester.runpytest_subprocess(
        "arith.yaml", "--llmbench-models",
        "openai:gpt-4o-mini,anthropic:claude-haiku-4-5,inproc:oracle,groq:llama")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    err = result.stderr.str()
    assert "openai:gpt-4o-mini: set OPENAI_API_KEY (or api_key in llmbench.yaml)" in err
    assert "anthropic:claude-haiku-4-5: set ANTHROPIC_API_KEY (or api_key in llmbench.yaml)" in err
    assert "groq:llama: set GROQ_API_KEY" in err
    assert "Traceback" not in err and "passed" not in result.stdout.str()
    assert len([line for line in err.splitlines() if line.strip()]) == 3
    assert not (pytester.path / ".llmbench").exists()


def test_key_in_config_or_env_is_enough(pytester: pytest.Pytester, suite_dir, no_keys,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    pytester.makefile(".yaml", llmbench="models:\n  - name: openai:gpt-4o-mini\n"
                      "    api_key: sk-test\n    base_url: http://127.0.0.1:9/v1\n")
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-test")
    result = pytester.runpytest_subprocess("arith.yaml", "-k", "no_such_item", "--llmbench-models",
                                           "openai:gpt-4o-mini,anthropic:claude-haiku-4-5")
    assert result.ret == pytest.ExitCode.NO_TESTS_COLLECTED, result.stderr.str()
    assert "set " not in result.stderr.str()
