"""Plain functions of batch mode: splitting by provider limits, batch prices."""

from __future__ import annotations

import pytest

from pytest_llmbench.calls.batch import _split, batch_models, request_key
from pytest_llmbench.calls.pricing import batch_call_cost, call_cost
from pytest_llmbench.config import ModelSpec
from pytest_llmbench.errors import ConfigError
from pytest_llmbench.providers.base import ChatRequest, Completion
from pytest_llmbench.providers.batch_base import check_batch_models

SPEC = ModelSpec("openai", "gpt-4o-mini")


def _entries(sizes: list[int]) -> list[tuple[str, ChatRequest, bytes]]:
    request = ChatRequest(SPEC, [{"role": "user", "content": "x"}])
    return [(str(i), request, b"x" * size) for i, size in enumerate(sizes)]


def test_split_by_requests_and_bytes() -> None:
    assert [len(c) for c in _split(_entries([10] * 7), 3, 10_000)] == [3, 3, 1]
    # 11 bytes a line (newline included): 3 fit in 35 bytes, the 4th starts a new batch
    assert [len(c) for c in _split(_entries([10] * 5), 100, 35)] == [3, 2]
    assert _split([], 10, 10) == []


def test_request_key_tells_samples_and_cases_apart() -> None:
    base = ChatRequest(SPEC, [{"role": "user", "content": "x"}],
                       metadata={"suite": "s", "case_id": "a"})
    other_case = ChatRequest(SPEC, base.messages, metadata={"suite": "s", "case_id": "b"})
    sample = ChatRequest(SPEC, base.messages, metadata={"suite": "s", "case_id": "a",
                                                        "sample": 1})
    keys = {request_key(r) for r in (base, other_case, sample)}
    assert len(keys) == 3
    assert request_key(base) == request_key(ChatRequest(SPEC, list(base.messages),
                                                        metadata=dict(base.metadata)))


def test_batch_models_and_usage_error() -> None:
    flagged = ModelSpec("anthropic", "claude-haiku-4-5", settings={"batch": True})
    assert batch_models([SPEC, flagged], everything=False) == [flagged]
    assert batch_models([SPEC, flagged], everything=True) == [SPEC, flagged]
    with pytest.raises(ConfigError, match="no batch API for groq:llama, vertex:x"):
        check_batch_models([SPEC, ModelSpec("groq", "llama"), ModelSpec("vertex", "x")])


def _answer() -> Completion:
    return Completion("4", input_tokens=1_000_000, output_tokens=1_000_000, batch=True)


def test_table_batch_price_where_the_table_has_one() -> None:
    cost, basis = batch_call_cost(SPEC, _answer())
    live = call_cost(SPEC, _answer())
    assert basis == "genai-prices batch price"
    assert live is not None and cost == pytest.approx(live / 2)


def test_documented_discount_where_the_table_has_no_batch_price() -> None:
    spec = ModelSpec("bedrock", "anthropic.claude-3-haiku-20240307-v1:0")
    cost, basis = batch_call_cost(spec, _answer())
    live = call_cost(spec, _answer())
    assert live is not None and cost == pytest.approx(live * 0.5)
    assert basis is not None and "documented batch discount" in basis


def test_config_prices() -> None:
    priced = ModelSpec("sim", "default", settings={"price": {"input_per_mtok": 1.0,
                                                             "output_per_mtok": 3.0}})
    assert batch_call_cost(priced, _answer())[0] == pytest.approx(2.0)
    own = ModelSpec("sim", "default", settings={
        "price": {"input_per_mtok": 1.0, "output_per_mtok": 3.0},
        "batch_price": {"input_per_mtok": 0.4, "output_per_mtok": 1.0}})
    assert batch_call_cost(own, _answer()) == (pytest.approx(1.4), "batch_price (config)")
    assert batch_call_cost(ModelSpec("sim", "default"), _answer()) == (None, None)
    no_usage = Completion("4", batch=True)
    assert batch_call_cost(priced, no_usage) == (None, None)


def test_a_latency_gate_on_a_batch_row_fails_closed_and_says_why() -> None:
    from pytest_llmbench.results.gates import parse_gate

    row = {"suite": "s", "model": "openai:gpt-4o-mini", "latency_p95": None, "accuracy": 1.0,
           "batch_items": 10}
    assert parse_gate("latency_p95<=2s").check(row) == (
        "s x openai:gpt-4o-mini: latency_p95<=2s cannot be checked "
        "(latency_p95 is not measured in batch mode)")
    assert parse_gate("accuracy>=0.9").check(row) is None
