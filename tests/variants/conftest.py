"""A suite with variants whose answers differ under ``inproc:echo`` (it echoes the prompt):
``answer_first`` puts the expected answer in the prompt (right), ``ask`` does not (wrong)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import ROWS, write_suite

TRAIN = [{"id": f"t{i}", "question": f"{i} * 3", "answer": str(3 * i)} for i in range(1, 5)]
VARIANTS = """\
train: train.jsonl
variants:
  ask: {}
  answer_first:
    prompt: "{answer}"
    system: null
  shots:
    few_shot: 2
    params: {temperature: 0.7}
  fitted:
    optimizer: fitter:fit
"""
OPTIMIZER = """
import os

def fit(ctx):
    with open(os.path.join(os.path.dirname(__file__), "fit_calls.txt"), "a") as out:
        out.write(f"{ctx.model} {os.environ.get('PYTEST_XDIST_WORKER', 'main')}\\n")
    right = [c for c in ctx.train if ctx.score(ctx.ask(ctx.messages(c), case=c), c)]
    return {"few_shot": [c.row for c in right[:2]], "system": "Fitted system prompt."}
"""


def write_variant_suite(directory: Path, variants: str = VARIANTS) -> Path:
    (directory / "train.jsonl").write_text("".join(json.dumps(r) + "\n" for r in TRAIN))
    (directory / "fitter.py").write_text(OPTIMIZER)
    return write_suite(directory, rows=ROWS, extra=variants)


def fit_calls(directory: Path) -> list[str]:
    path = directory / "fit_calls.txt"
    return path.read_text().splitlines() if path.exists() else []


@pytest.fixture
def variant_dir(pytester: pytest.Pytester) -> Path:
    write_variant_suite(pytester.path)
    return pytester.path
