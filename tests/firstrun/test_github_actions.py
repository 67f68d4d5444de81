"""Under GitHub Actions: job summary in Markdown and ::error annotations (point 13)."""

from __future__ import annotations

import pytest


def test_step_summary_and_annotations(pytester: pytest.Pytester, suite_dir,
                                      monkeypatch: pytest.MonkeyPatch) -> None:
    summary = pytester.path / "step_summary.md"
    summary.write_text("earlier step\n")
    for name, value in {"GITHUB_ACTIONS": "true", "GITHUB_STEP_SUMMARY": str(summary),
                        "GITHUB_SERVER_URL": "https://github.com", "GITHUB_REPOSITORY": "o/r",
                        "GITHUB_RUN_ID": "42"}.items():
        monkeypatch.setenv(name, value)
    result = pytester.runpytest("arith.yaml", "--llmbench-models", "inproc:oracle,inproc:wrong",
                                "--llmbench-score-only", "--llmbench-gate", "accuracy>=0.5")
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines([
        "::error title=llmbench gate::arith x inproc:wrong: accuracy = 0, gate accuracy>=0.5"])
    text = summary.read_text()
    assert text.startswith("earlier step\n## llmbench")
    assert "| suite | model | n | accuracy |" in text
    assert "| arith | inproc:oracle | 10 | 100.0% |" in text
    assert "- :x: gate arith x inproc:wrong: accuracy = 0, gate accuracy>=0.5" in text
    assert "https://github.com/o/r/actions/runs/42#artifacts" in text


def test_nothing_outside_github_actions(pytester: pytest.Pytester, suite_dir,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GITHUB_ACTIONS", raising=False)
    summary = pytester.path / "step_summary.md"
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    result = pytester.runpytest("arith.yaml", "--llmbench-models", "inproc:wrong",
                                "--llmbench-score-only", "--llmbench-gate", "accuracy>=0.5")
    assert "::error" not in result.stdout.str() and not summary.exists()
