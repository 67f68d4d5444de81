"""Ingest options used wrongly are said once, before the run (issue 17, point 18)."""

from __future__ import annotations

import pytest


@pytest.fixture
def no_ingest_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("INGEST_API_URL", "INGEST_API_KEY"):
        monkeypatch.delenv(name, raising=False)


def test_ingest_required_without_url_is_a_usage_error(pytester: pytest.Pytester, suite_dir,
                                                       no_ingest_env) -> None:
    result = pytester.runpytest_subprocess("arith.yaml", "--llmbench-models", "inproc:oracle",
                                           "--llmbench-ingest-required")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["ERROR: --llmbench-ingest-required needs an ingest URL*"])
    assert not (pytester.path / ".llmbench").exists()


def test_url_without_key_warns_once(pytester: pytest.Pytester, suite_dir,
                                    no_ingest_env) -> None:
    result = pytester.runpytest_subprocess(
        "arith.yaml", "--llmbench-models", "inproc:oracle", "-k", "q001",
        "--llmbench-ingest-url", "http://127.0.0.1:9/ingest", "--llmbench-ingest-timeout", "1")
    out = result.stdout.str()
    assert out.count("ingest URL set but $INGEST_API_KEY is not") == 1
    result.assert_outcomes(passed=1)
