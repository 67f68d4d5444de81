"""Distributions, model profiles from YAML and ``--model``, and their errors."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from pytest_llmbench.sim.config import SimConfigError, load_config, parse_model_option
from pytest_llmbench.sim.distributions import DistributionError, parse_distribution


@pytest.mark.parametrize(("value", "kind", "mean"), [
    (100, "fixed", 100.0), ("12.5", "fixed", 12.5), ("normal(100, 10)", "normal", 100.0),
    ({"dist": "uniform", "min": 50, "max": 150}, "uniform", 100.0),
    ("lognormal(80, 20)", "lognormal", 80.0), ("exponential(30)", "exponential", 30.0),
])
def test_distributions(value: object, kind: str, mean: float) -> None:
    d = parse_distribution(value)
    assert d.kind == kind and d.mean == mean
    rng = random.Random(0)
    draws = [d.sample(rng) for _ in range(4000)]
    assert min(draws) >= 0
    assert abs(sum(draws) / len(draws) - mean) < mean * 0.06


@pytest.mark.parametrize("bad", ["fast", "normal(1)", "gamma(1, 2)", -5, True, [1],
                                 {"dist": "normal", "mean": 1}, "uniform(5, 1)"])
def test_bad_distributions(bad: object) -> None:
    with pytest.raises(DistributionError):
        parse_distribution(bad, "ttft_ms")


def test_ready_models() -> None:
    config = load_config()
    assert {"default", "oracle", "fast", "slow", "flaky", "echo"} <= set(config.models)
    assert config.model("sim:oracle") is config.models["oracle"]
    assert config.models["oracle"].correct_fraction == 1.0
    assert config.models["flaky"].errors


def test_yaml_config(tmp_path: Path) -> None:
    (tmp_path / "k.json").write_text('{"a": "1"}')
    path = tmp_path / "sim.yaml"
    path.write_text(
        "seed: 5\nanswer_key: k.json\nauth: {bad_keys: [nope], require_key: true}\n"
        "models:\n"
        "  sim:mine: {ttft_ms: 'normal(100, 10)', itl_ms: 10, output_tokens: max_tokens,\n"
        "             errors: {rate_limit: 0.1, drop: 0.05}, max_concurrency: 4}\n"
        "  fast: {correct_fraction: 0.5}\n"
        "  child: {base: slow, itl_ms: 1}\n")
    config = load_config(path)
    assert config.seed == 5 and config.require_key and config.bad_keys == ["nope"]
    assert config.answer_keys == [tmp_path / "k.json"]
    mine = config.models["mine"]
    assert mine.until_max_tokens and mine.max_concurrency == 4
    assert mine.ttft_ms.kind == "normal" and mine.itl_ms.a == 10
    assert config.models["fast"].correct_fraction == 0.5
    assert config.models["fast"].ttft_ms.a == 20  # the rest kept from the ready model
    assert config.models["child"].ttft_ms.kind == "normal"
    assert config.models["child"].itl_ms.a == 1


@pytest.mark.parametrize(("text", "match"), [
    ("models: {m: {ttft: 1}}", "unknown key"),
    ("models: {m: {errors: {explode: 0.1}}}", "unknown fault kind"),
    ("models: {m: {errors: {drop: 0.7, stall: 0.7}}}", "more than 1"),
    ("models: {m: {policy: psychic}}", "policy"),
    ("models: {m: {base: nothing}}", "unknown base"),
    ("modles: {}", "unknown top-level"),
    ("models: {m: {ttft_ms: 'soon'}}", "ttft_ms"),
    ("[1, 2", "not valid YAML"),
])
def test_config_errors_name_the_file(tmp_path: Path, text: str, match: str) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(SimConfigError, match=match) as info:
        load_config(path)
    assert "bad.yaml" in str(info.value)


def test_model_option() -> None:
    name, raw = parse_model_option(
        "sim:perf:ttft_ms=normal(100, 10),itl_ms=10,output_tokens=128,errors.drop=0.1")
    assert name == "perf"
    assert raw == {"ttft_ms": "normal(100, 10)", "itl_ms": 10, "output_tokens": 128,
                   "errors": {"drop": 0.1}}
    config = load_config(models=["perf:ttft_ms=100,itl_ms=10,output_tokens=128",
                                 "shaky:base=fast,errors.rate_limit=0.2", "slow:itl_ms=1"])
    assert config.models["perf"].output_tokens is not None
    assert config.models["shaky"].errors == {"rate_limit": 0.2}
    assert config.models["slow"].itl_ms.a == 1 and config.models["slow"].ttft_ms.a == 400
    with pytest.raises(SimConfigError, match="key=value"):
        load_config(models=["x:oops"])
