"""Our IFEval verdicts against the reference implementation's, case by case.

``ifeval_ref/cases.json`` holds 400 (response, instructions) cases over all 25
instruction kinds with the strict and loose verdicts computed by RUNNING the
reference (lm-evaluation-harness's port of google-research
``instruction_following_eval``; see ``ifeval_ref/README.md``). Documented
deviations (docs/scoring.md) are kept out of the generated kwargs.
"""

from __future__ import annotations

import json
from pathlib import Path

from pytest_llmbench.scoring.ifeval_checks import CHECKS
from pytest_llmbench.scoring.registry import make_scorer
from pytest_llmbench.suites.model import Case

DATA = json.loads((Path(__file__).parent / "ifeval_ref" / "cases.json").read_text())


def test_the_set_covers_every_kind() -> None:
    kinds = {k for case in DATA["cases"] for k in case["instruction_id_list"]}
    assert kinds == set(CHECKS) and len(CHECKS) == 25
    assert len(DATA["cases"]) >= 300


def test_every_verdict_agrees_with_the_reference() -> None:
    scorer = make_scorer("ifeval")
    disagreements, total = [], 0
    for row in DATA["cases"]:
        case = Case("ifeval-ref", row["id"], {"instruction_id_list": row["instruction_id_list"],
                                              "kwargs": row["kwargs"]})
        details = scorer(row["response"], case).details
        for index, entry in enumerate(details["instructions"]):
            for mode in ("strict", "loose"):
                total += 1
                if entry.get(mode) != row[mode][index]:
                    disagreements.append((row["id"], entry["id"], mode, row[mode][index]))
    assert total > 1000
    assert disagreements == [], f"{len(disagreements)}/{total} verdicts differ: {disagreements[:10]}"
