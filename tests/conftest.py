"""Shared fixtures for end-to-end tests driven through pytester."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import httpcore  # noqa: F401 - see below
import httpx._transports.default  # noqa: F401
import pytest

# In-process pytester runs drop the modules first imported inside them; were httpcore
# first imported there, httpx would go on mapping the dropped module's exceptions and
# miss the live ones (a ConnectError escaping as httpcore's). Import it here, once.

# xdist's workers get COLUMNS=80 (and LINES): pytester runs would inherit a narrower terminal
# than a serial run's and wrap their tables. Tests that need a width set it themselves.
for _name in ("COLUMNS", "LINES"):
    os.environ.pop(_name, None)

ROWS = [{"id": f"q{i:03d}", "question": f"{i} + {i}", "answer": str(2 * i)} for i in range(1, 11)]


def write_suite(directory: Path, name: str = "arith", rows: list[dict[str, Any]] | None = None,
                extra: str = "") -> Path:
    """A JSONL dataset plus a YAML suite file using it."""
    data = directory / f"{name}.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in (rows or ROWS)))
    suite = directory / f"{name}.yaml"
    suite.write_text(f"name: {name}\ndataset: {name}.jsonl\nprompt: 'What is {{question}}?'\n"
                     f"expected: answer\n{extra}")
    return suite


def read_records(pytester: pytest.Pytester) -> list[dict[str, Any]]:
    path = pytester.path / ".llmbench" / "runs" / "latest" / "records.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()]


def read_summary(pytester: pytest.Pytester) -> list[dict[str, Any]]:
    path = pytester.path / ".llmbench" / "runs" / "latest" / "summary.json"
    return json.loads(path.read_text())["rows"]  # type: ignore[no-any-return]


@pytest.fixture
def suite_dir(pytester: pytest.Pytester) -> Path:
    write_suite(pytester.path)
    return pytester.path
