"""Prompt optimizers for the bundled variant example (``optimizer: optimizers:NAME``).

An optimizer runs once per (suite, model) and run, before that model's items of the
variant are asked; what it returns is stored in the run directory and reused.
"""

from __future__ import annotations

from typing import Any

MAX_SHOTS = 3


def bootstrap_few_shot(ctx: Any) -> dict[str, Any]:
    """Ask the model every train row zero-shot and keep up to three rows it answers right,
    with its own answers, as few-shot examples (the idea of DSPy's BootstrapFewShot)."""
    shots = []
    for case in ctx.train:
        answer = ctx.ask(ctx.messages(case, few_shot=[]), case=case)
        if ctx.score(answer, case):
            shots.append({**case.row, "answer": answer.strip()})
        if len(shots) == MAX_SHOTS:
            break
    return {"few_shot": shots}
