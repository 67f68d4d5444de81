"""One failure, one message: a failing model's output stays short (issue 17, point 4).

Before the fix a failing model on the bundled suites printed 132,049 lines: the
``arithmetic_variants`` optimizer's failure was re-raised for every item of the
prefetch batch (other suites' items too), each traceback longer than the last.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

BUNDLED = Path(__file__).parents[2] / "bench_suites"


def _copy_suites(pytester: pytest.Pytester) -> None:
    target = pytester.path / "bench_suites"
    target.mkdir()
    for name in ("arithmetic.yaml", "arithmetic_variants.yaml", "optimizers.py"):
        shutil.copy(BUNDLED / name, target / name)
    shutil.copytree(BUNDLED / "data", target / "data")


def _run(pytester: pytest.Pytester, *args: str) -> tuple[list[str], int]:
    result = pytester.runpytest_subprocess(
        "bench_suites", "--llmbench-models", "inproc:error", "--llmbench-max-retries", "0",
        "--llmbench-progress", "off", *args)
    lines = result.outlines + result.errlines
    errors = result.parseoutcomes().get("errors", 0)
    return lines, errors


def test_failing_model_prints_one_line_per_item(pytester: pytest.Pytester) -> None:
    _copy_suites(pytester)
    lines, errors = _run(pytester)
    assert errors == 40 + 40  # arithmetic + arithmetic_variants' four variants
    text = "\n".join(lines)
    assert "Traceback" not in text and "def " not in text and "self = " not in text
    # header + message per error, the short summary line, and a fixed frame (summary table)
    assert len(lines) <= 3 * errors + 60, len(lines)
    blocks = text.split("_ ERROR at setup of ")[1:]
    by_item = {block.split(" ")[0]: block for block in blocks}
    optimizer = [item for item, block in by_item.items() if "optimizer" in block]
    assert optimizer and all("/bootstrap/" in item for item in optimizer)
    assert all("InternalServerError" in block for block in blocks)
    assert len([i for i in by_item if "/bootstrap/" in i]) == len(optimizer) == 10


def test_output_grows_linearly_with_failing_items(pytester: pytest.Pytester) -> None:
    _copy_suites(pytester)
    small, small_errors = _run(pytester, "--llmbench-sample", "2")
    large, large_errors = _run(pytester, "--llmbench-sample", "8")
    per_item = (len(large) - len(small)) / (large_errors - small_errors)
    assert per_item <= 3, per_item
