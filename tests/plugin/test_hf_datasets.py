"""The Hugging Face datasets loader (optional extra), on local files."""

from __future__ import annotations

import json

import pytest

pytest.importorskip("datasets")


def test_hf_json_builder_on_local_files(pytester: pytest.Pytester,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(pytester.path / "hf"))
    rows = [{"id": "h1", "question": "a", "answer": "a"}, {"id": "h2", "question": "b",
                                                           "answer": "b"}]
    pytester.makefile(".jsonl", data="".join(json.dumps(r) + "\n" for r in rows))
    (pytester.path / "hf.yaml").write_text(
        "name: hfsuite\nprompt: '{question}'\n"
        "dataset: {hf: json, data_files: data.jsonl, split: train}\n")
    result = pytester.runpytest_subprocess("hf.yaml", "--llmbench-models", "inproc:echo", "-v")
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines(["*hfsuite[[]inproc:echo/h1[]] PASSED*"])
