"""Answer policies, the answer key, the tokenizer and determinism."""

from __future__ import annotations

import json
from pathlib import Path

import openai
import pytest

from pytest_llmbench.sim.answers import AnswerKey, Entry, load_answer_key, wrong_answer
from pytest_llmbench.sim.config import SimConfigError, load_config
from pytest_llmbench.sim.state import SimRequest, SimState
from pytest_llmbench.sim.tokens import count_tokens, split_tokens


def request(model: str, case: str | None = None, prompt: str = "question?") -> SimRequest:
    return SimRequest(model=model, prompt=prompt, input_tokens=1, max_tokens=None, stream=False,
                      api_key=None, case_id=case)


@pytest.mark.parametrize("text", ["Hello, world!", "  lead and trail  ", "a\nb\tc", "", "x",
                                  "naïve café – 42.5%"])
def test_tokenizer_round_trips(text: str) -> None:
    pieces = split_tokens(text)
    assert "".join(pieces) == text
    if text.strip():
        assert len(pieces) == count_tokens(text)


def test_tokenizer_rule() -> None:
    assert split_tokens("Hello, world!") == ["Hello", ",", " world", "!"]
    assert count_tokens("The answer is 42.") == 5


def _key(tmp_path: Path, n: int = 200) -> Path:
    path = tmp_path / "key.jsonl"
    path.write_text("\n".join(json.dumps({"id": f"c{i}", "answer": str(i)}) for i in range(n)))
    return path


@pytest.mark.parametrize("fraction", [0.0, 0.25, 0.6, 0.9, 1.0])
def test_correct_fraction_within_sampling_noise(tmp_path: Path, fraction: float) -> None:
    n = 2000
    config = load_config(models=[f"m:correct_fraction={fraction}"],
                         answer_keys=[_key(tmp_path, n)])
    state = SimState.from_config(config)
    verdicts = [state.plan(request("m", f"c{i}")).right for i in range(n)]
    right = sum(bool(v) for v in verdicts)
    bound = 4 * (n * fraction * (1 - fraction)) ** 0.5  # 4 sigma of a binomial
    assert abs(right - fraction * n) <= bound
    texts = [state.plan(request("m", f"c{i}")).text for i in range(n)]
    assert sum(t == str(i) for i, t in enumerate(texts)) == right


def test_a_cases_answer_does_not_depend_on_the_other_cases(tmp_path: Path) -> None:
    """sim:fast's right/wrong for a case is the same whatever else the run holds."""
    small = SimState.from_config(load_config(models=["m:correct_fraction=0.7"],
                                             answer_keys=[_key(tmp_path, 20)]))
    large = SimState.from_config(load_config(models=["m:correct_fraction=0.7"],
                                             answer_keys=[_key(tmp_path, 500)]))
    assert [small.plan(request("m", f"c{i}")).right for i in range(20)] == \
        [large.plan(request("m", f"c{i}")).right for i in range(20)]


def test_same_seed_same_answers_other_seed_other_choice(tmp_path: Path) -> None:
    key = _key(tmp_path)

    def run(seed: int) -> list[str]:
        state = SimState.from_config(load_config(models=["m:correct_fraction=0.5"],
                                                 answer_keys=[key], seed=seed))
        return [state.plan(request("m", f"c{i}")).text for i in range(200)]

    assert run(1) == run(1)
    assert run(1) != run(2)


def test_same_seed_same_stream_of_latencies_and_faults() -> None:
    def run() -> list[tuple[float, str | None, int]]:
        config = load_config(models=["r:policy=lorem,ttft_ms=normal(50, 10),"
                                     "output_tokens=uniform(5, 40),errors.rate_limit=0.3"],
                             seed=3)
        state = SimState.from_config(config)
        plans = [state.plan(request("r")) for _ in range(50)]
        return [(p.ttft, p.fault, p.output_tokens) for p in plans]

    first = run()
    assert first == run()
    assert 5 < sum(f == "rate_limit" for _, f, _ in first) < 30
    assert len({n for _, _, n in first}) > 5


def test_oracle_matches_by_substring_and_case(sim_files: dict[str, Path]) -> None:
    state = SimState.from_config(load_config(answer_keys=[sim_files["answers"]]))
    assert state.plan(request("oracle", prompt="What is the capital of France?")).text == "Paris"
    assert state.plan(request("oracle", case="q010")).text == "70"
    assert state.plan(request("oracle", prompt="unrelated")).text == "I don't know."


def test_wrong_answers_differ_and_look_like_answers() -> None:
    for right in ["42", "B", "(c)", "3.14", "yes", "Paris", "x = -7"]:
        for salt in (b"\x00", b"\x05", b"\xff"):
            wrong = wrong_answer(right, salt)
            assert wrong != right
            assert wrong == wrong_answer(right, salt)
    assert wrong_answer("B", b"\x00") in {"A", "C", "D"}
    assert wrong_answer("42", b"\x00").lstrip("-").isdigit()


def test_answer_key_formats(tmp_path: Path) -> None:
    (tmp_path / "a.json").write_text(json.dumps({"q1": "1", "q2": 2.0}))
    (tmp_path / "b.yaml").write_text(
        "- {case_id: q3, answer: three}\n- {match: 'sky', answer: blue}\n")
    key = load_answer_key([tmp_path / "a.json", tmp_path / "b.yaml"])
    assert key.find("q2", "") == Entry("2", "q2", "q2")
    assert key.find("q3", "").answer == "three"
    assert key.find(None, "why is the sky blue").answer == "blue"
    assert key.find(None, "... q1 ...").answer == "1"
    (tmp_path / "bad.json").write_text("{")
    with pytest.raises(SimConfigError, match="bad.json"):
        load_answer_key([tmp_path / "bad.json"])
    (tmp_path / "bad.yaml").write_text("- {answer: x}\n")
    with pytest.raises(SimConfigError, match="entry 1"):
        load_answer_key([tmp_path / "bad.yaml"])


def test_longest_substring_wins() -> None:
    key = AnswerKey()
    key.add(Entry("one", match="q1"))
    key.add(Entry("ten", match="q10"))
    assert key.find(None, "item q10").answer == "ten"


def test_over_http_with_case_header(base_url: str) -> None:
    client = openai.OpenAI(base_url=base_url + "/v1", api_key="k", max_retries=0)
    answers = []
    for i in range(100):
        r = client.chat.completions.create(
            model="keyed", messages=[{"role": "user", "content": "What is it?"}],
            extra_headers={"x-llmbench-case": f"q{i:03d}"})
        answers.append(r.choices[0].message.content == str(i * 7))
    # each entry is right with probability 0.6 (a fixed draw): 60 +- 4 sigma (4.9)
    assert 40 <= sum(answers) <= 80
    oracle = client.chat.completions.create(
        model="sim:oracle", messages=[{"role": "user", "content": "x"}],
        extra_headers={"x-llmbench-case": "mc1"})
    assert oracle.choices[0].message.content == "B"


def test_echo_policy(base_url: str) -> None:
    client = openai.OpenAI(base_url=base_url + "/v1", api_key="k", max_retries=0)
    r = client.chat.completions.create(model="echo", messages=[
        {"role": "system", "content": "sys"}, {"role": "user", "content": "repeat me"}])
    assert r.choices[0].message.content == "repeat me"
    assert r.usage is not None and r.usage.prompt_tokens == 3


def test_each_sample_is_its_own_draw(tmp_path: Path) -> None:
    state = SimState.from_config(load_config(models=["m:correct_fraction=0.7"],
                                             answer_keys=[_key(tmp_path)]))

    def verdicts(sample: int) -> list[bool]:
        plans = [state.plan(SimRequest(model="m", prompt="q", input_tokens=1, max_tokens=None,
                                       stream=False, api_key=None, case_id=f"c{i}",
                                       sample=sample)) for i in range(200)]
        return [bool(p.right) for p in plans]

    first, second, third = verdicts(0), verdicts(1), verdicts(2)
    assert all(abs(sum(v) - 140) <= 26 for v in (first, second, third))  # 0.7 +- 4 sigma
    assert first != second != third  # but different cases right in each
    assert verdicts(0) == first and verdicts(1) == second  # and deterministic


def test_sample_header_over_http(base_url: str) -> None:
    client = openai.OpenAI(base_url=base_url + "/v1", api_key="k", max_retries=0)
    answers = {client.chat.completions.create(
        model="keyed", messages=[{"role": "user", "content": "What is it?"}],
        extra_headers={"x-llmbench-case": "q005", "x-llmbench-sample": str(sample)},
    ).choices[0].message.content for sample in range(12)}
    assert "35" in answers and len(answers) > 1  # right in some samples, wrong in others
