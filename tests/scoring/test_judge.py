"""The LLM judge: verdict parsing, and grading end to end through the real OpenAI client
against the simulator's ``judge`` model."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from pytest_llmbench.calls.engine import Engine
from pytest_llmbench.config import ModelSpec
from pytest_llmbench.errors import ConfigError
from pytest_llmbench.scoring.context import ScoringContext
from pytest_llmbench.scoring.judge import parse_verdict
from pytest_llmbench.scoring.registry import make_scorer
from pytest_llmbench.sim import SimServer
from pytest_llmbench.sim.judge import judge_verdict
from pytest_llmbench.suites.model import Case


@pytest.mark.parametrize(("reply", "correct", "score"), [
    ("The answer matches.\nVERDICT: CORRECT\nSCORE: 9/10", True, 0.9),
    ("**Verdict:** INCORRECT", False, None),
    ("Verdict: not correct. Score: 3 out of 10", False, 0.3),
    ("verdict = [[correct]]", True, None),
    ("It states Paris.\n\nCORRECT", True, None),
    ("The response is wrong.\n**INCORRECT**", False, None),
    ("Rating: [[7]]", None, 0.7),
    ("Score: 4", None, 0.4),
    ("<think>VERDICT: INCORRECT</think>VERDICT: CORRECT", True, None),
    ("VERDICT: PASS", True, None),
    ("Hmm, the response mentions both correct and incorrect facts.", None, None),
    ("I cannot grade this.", None, None),
])
def test_parse_verdict(reply: str, correct: bool | None, score: float | None) -> None:
    verdict = parse_verdict(reply)
    assert verdict.correct is correct
    assert verdict.score == pytest.approx(score) if score is not None else verdict.score is None


@pytest.mark.parametrize(("reference", "response", "agrees"), [
    ("Paris", "The capital of France is Paris.", True),
    ("Paris", "It is Lyon.", False),
    ("Paris", "not Paris", False),
    ("42", "So the total is 42 apples", True),
    ("1,000", "about 1000", True),
    ("4", "14 apples", False),
])
def test_simulated_judge_compares_reference_and_response(reference: str, response: str,
                                                         agrees: bool) -> None:
    prompt = f"<reference>\n{reference}\n</reference>\n<response>\n{response}\n</response>"
    assert ("VERDICT: CORRECT" in judge_verdict(prompt)) is agrees  # type: ignore[operator]
    assert judge_verdict("no tags here") is None


@pytest.fixture(scope="module")
def sim() -> Iterator[SimServer]:
    with SimServer() as server:
        yield server


@pytest.fixture
def context(sim: SimServer) -> Iterator[ScoringContext]:
    engine = Engine(concurrency=4, timeout=30)
    judge = ModelSpec("openai", "judge", settings={"base_url": sim.base_url + "/v1",
                                                   "api_key": "sk-test", "max_retries": 0})
    yield ScoringContext(call_many=lambda rs: [f.result() for f in engine.submit_many(rs)],
                         judge=judge, prompt_of=lambda case: case.row["question"])
    engine.close()


CASE = Case("geo", "q1", {"question": "What is the capital of France?"}, expected="Paris")


def test_judge_grades_through_the_openai_client(context: ScoringContext) -> None:
    scorer = make_scorer("judge", context=context)
    right = scorer("It's Paris, of course.", CASE)
    assert right.passed and right.value == 1.0 and not right.extraction_failed
    judge = right.details["judge"]
    assert judge["model"] == "openai:judge"
    assert "<question>\nWhat is the capital of France?\n</question>" in judge["prompt"]
    assert "<reference>\nParis\n</reference>" in judge["prompt"]
    assert "VERDICT: CORRECT" in judge["output"]
    assert judge["input_tokens"] > 0 and judge["output_tokens"] > 0
    assert right.details["judge_score"] == 1.0
    wrong = scorer("Lyon.", CASE)
    assert not wrong.passed and wrong.details["verdict"] == "incorrect"


def test_score_mode_uses_the_threshold(context: ScoringContext) -> None:
    scorer = make_scorer({"name": "judge", "mode": "score", "threshold": 0.8}, context=context)
    assert scorer("Paris", CASE).value == 1.0
    wrong = scorer("Berlin", CASE)
    assert wrong.value == pytest.approx(0.2) and not wrong.passed


def test_unparseable_judge_reply_is_an_extraction_failure(context: ScoringContext) -> None:
    # a custom template without the tags the simulated judge reads: it answers its fallback
    scorer = make_scorer({"name": "judge", "template": "Grade this: {response}"},
                         context=context)
    score = scorer("Paris", CASE)
    assert score.extraction_failed and not score.passed
    assert score.details["judge"]["output"] == "I don't know."
    assert score.details["verdict"] is None


def test_judge_configuration_errors() -> None:
    with pytest.raises(ConfigError, match="needs a model"):
        make_scorer("judge", context=ScoringContext())
    with pytest.raises(ConfigError, match=r"must contain \{response\}"):
        make_scorer({"name": "judge", "model": "sim:judge", "template": "x"},
                    context=ScoringContext())
    scorer = make_scorer({"name": "judge", "model": "sim:judge", "template": "{response} {nope}"},
                         context=ScoringContext())
    with pytest.raises(ConfigError, match="'nope'"):
        scorer.prompt("x", CASE)  # type: ignore[attr-defined]


@pytest.mark.parametrize(("text", "expected"), [
    ("judge: openai:gpt-4o\n", "openai:gpt-4o"),
    ("aliases: {strict: sim:judge}\njudge: strict\n", "sim:judge"),
    ("judge: {name: sim:judge, params: {temperature: 0}}\n", "sim:judge"),
    ("models:\n  sim:judge: {label: grader}\njudge: grader\n", "sim:judge"),
])
def test_judge_in_the_models_config(tmp_path, text: str, expected: str) -> None:
    from pytest_llmbench.config import load_models_config

    (tmp_path / "llmbench.yaml").write_text(text)
    judge = load_models_config(tmp_path).judge
    assert judge is not None and judge.name == expected


def test_bad_judge_entry_names_the_file(tmp_path) -> None:
    from pytest_llmbench.config import load_models_config

    (tmp_path / "llmbench.yaml").write_text("judge: {params: {}}\n")
    with pytest.raises(ConfigError, match=r"llmbench.yaml: each judge needs a 'name'"):
        load_models_config(tmp_path)
