"""Cost: config price, the genai-prices table (offline), unknown -> None; through real SDKs."""

from __future__ import annotations

import pytest

from pytest_llmbench.calls.pricing import call_cost, cost_usd, usage_of
from pytest_llmbench.config import ModelSpec, check_price
from pytest_llmbench.errors import ConfigError
from pytest_llmbench.sim import SimServer
from tests.providers.conftest import call, spec_for


def test_table_price_for_openai_gpt_4o_mini() -> None:
    raw = {"prompt_tokens": 1000, "completion_tokens": 100}
    # gpt-4o-mini: $0.15 in / $0.60 out per 1M tokens
    assert cost_usd("openai", "gpt-4o-mini", {}, 1000, 100, raw) == pytest.approx(0.00021)


def test_cached_input_is_priced_apart() -> None:
    raw = {"prompt_tokens": 1000, "prompt_tokens_details": {"cached_tokens": 800}}
    cached = cost_usd("openai", "gpt-4o-mini", {}, 1000, 0, raw)
    # 200 fresh at $0.15 + 800 cached at $0.075 per 1M
    assert cached == pytest.approx((200 * 0.15 + 800 * 0.075) / 1e6)
    # Anthropic and Bedrock report cache reads beside input_tokens, not inside
    assert usage_of(100, 5, {"cache_read_input_tokens": 900}).input == 1000
    assert usage_of(100, 5, {"cacheReadInputTokens": 900, "cacheWriteInputTokens": 10}).input == 1010


def test_unknown_prices_are_none_never_zero() -> None:
    raw = {"prompt_tokens": 10, "completion_tokens": 5}
    assert cost_usd("openai", "no-such-model", {}, 10, 5, raw) is None
    assert cost_usd("vllm", "meta-llama/Llama-3.1-8B-Instruct", {}, 10, 5, raw) is None
    assert cost_usd("sim", "default", {}, 10, 5, raw) is None
    assert cost_usd("openai", "gpt-4o-mini", {}, None, None, None) is None


def test_config_price_and_price_as_win() -> None:
    price = {"input_per_mtok": 1.0, "output_per_mtok": 4.0}
    assert cost_usd("vllm", "x", {"price": price}, 1000, 500, None) == pytest.approx(0.003)
    as_mini = cost_usd("azure", "my-deployment", {"price_as": "openai:gpt-4o-mini"}, 1000, 100, {})
    assert as_mini == pytest.approx(0.00021)
    # a cost the server reported (OpenRouter) is kept, but a config price overrides it
    assert cost_usd("openrouter", "x", {}, 1, 1, {}, reported=0.5) == 0.5
    assert cost_usd("openrouter", "x", {"price": price}, 1000, 0, {}, reported=0.5) == 0.001


@pytest.mark.parametrize(("value", "message"), [
    ({"input_per_mtok": 1}, "price needs output_per_mtok"),
    ({"input_per_mtok": 1, "output_per_mtok": -1}, "price.output_per_mtok must be a number >= 0"),
    ({"input_per_mtok": 1, "output_per_mtok": 1, "per_call": 2}, "unknown price key"),
    ("cheap", "'price' must be a mapping"),
])
def test_bad_price_is_named(value: object, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        check_price(value, "llmbench.yaml: model vllm:x")


def test_genai_price_from_the_simulators_usage_through_the_openai_sdk() -> None:
    with SimServer(models=["gpt-4o-mini:base=oracle"]) as sim:
        spec = spec_for("openai", "gpt-4o-mini", sim)
        completion = call(spec)
    assert completion.input_tokens and completion.output_tokens
    expected = (completion.input_tokens * 0.15 + completion.output_tokens * 0.6) / 1e6
    assert call_cost(spec, completion) == pytest.approx(expected)


@pytest.mark.parametrize("provider", ["anthropic", "bedrock", "vllm"])
def test_config_price_through_each_sdk(sim: SimServer, provider: str) -> None:
    price = {"input_per_mtok": 3.0, "output_per_mtok": 15.0}
    spec = spec_for(provider, "fast", sim, price=price)
    completion = call(spec)
    expected = (completion.input_tokens * 3 + completion.output_tokens * 15) / 1e6
    assert call_cost(spec, completion) == pytest.approx(expected)
    assert call_cost(ModelSpec(provider, "fast", settings={}), completion) is None
