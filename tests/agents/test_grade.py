"""The diff of the final tree against the start, and pytest result parsing."""

from __future__ import annotations

from pathlib import Path

from pytest_llmbench.agents.grade import diff_trees
from pytest_llmbench.agents.pytest_output import pytest_results


def test_diff_counts(tmp_path: Path) -> None:
    start, final = tmp_path / "a", tmp_path / "b"
    for root in (start, final):
        (root / "pkg").mkdir(parents=True)
    (start / "pkg" / "m.py").write_text("one\ntwo\nthree\n")
    (final / "pkg" / "m.py").write_text("one\nTWO\nthree\nfour\n")
    (start / "gone.txt").write_text("x\ny\n")
    (final / "new.txt").write_text("hello\n")
    (start / "same.txt").write_text("s\n")
    (final / "same.txt").write_text("s\n")
    (final / "pkg" / "__pycache__").mkdir()
    (final / "pkg" / "__pycache__" / "m.pyc").write_bytes(b"\0junk")
    (final / "blob.bin").write_bytes(b"\0\1\2")
    stats = diff_trees(start, final)
    assert stats.files_changed == 4  # m.py, gone.txt, new.txt, blob.bin
    assert stats.lines_added == 3 and stats.lines_removed == 3
    assert "+++ b/pkg/m.py" in stats.diff and "Binary file blob.bin differs" in stats.diff
    assert "__pycache__" not in stats.diff


def test_pytest_results() -> None:
    out = ("tests/t.py::test_a PASSED\n=== short test summary info ===\n"
           "PASSED tests/t.py::test_a\nFAILED tests/t.py::test_b - assert 0\n"
           "ERROR tests/t.py::test_c\n")
    assert pytest_results(out) == {"tests/t.py::test_a": "PASSED",
                                   "tests/t.py::test_b": "FAILED",
                                   "tests/t.py::test_c": "ERROR"}
