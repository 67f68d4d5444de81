"""A 200 response that is not the API's format is a ProtocolError, never a wrong answer.

Every provider is driven through its real client (openai, anthropic, boto3, the sim's httpx
wire) against a real HTTP server answering HTML pages, JSON of another shape, garbage, a
``[DONE]``-only or empty stream, a stream cut off before its finish event, an event that is
not JSON.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from typing import Any

import pytest

from pytest_llmbench.calls.retry import RETRYABLE_KINDS
from pytest_llmbench.config import ModelSpec
from pytest_llmbench.errors import ProtocolError
from pytest_llmbench.providers import openai_wire
from pytest_llmbench.providers.base import ChatRequest
from pytest_llmbench.redaction import remember_secret
from tests.conftest import read_records, read_summary, write_suite
from tests.malformed_server import MalformedServer
from tests.providers.conftest import call

PROVIDERS = ("openai", "anthropic", "bedrock", "wire", "vllm")
"""``wire``: the raw httpx reader the ``sim:`` provider and serving loads use."""
BAD = ("html", "json", "garbage", "done_only", "truncated", "bad_event", "wrong_shape")
SECRET = "sk-proto-PLANTEDSECRET-0123456789abcdef"


@pytest.fixture(scope="module")
def server() -> Iterator[MalformedServer]:
    with MalformedServer() as srv:
        yield srv


def spec(provider: str, mode: str, server: MalformedServer, echo: str = "") -> ModelSpec:
    """``provider:m`` pointed at the server, answering in ``mode``, echoing ``echo``."""
    headers = {"x-bad-mode": mode, "x-bad-echo": echo}
    settings: dict[str, Any] = {"headers": headers, "api_key": "sk-test", "max_retries": 0}
    if provider == "anthropic":
        settings["base_url"] = server.base_url
    elif provider == "bedrock":
        settings = {"headers": headers, "endpoint_url": server.base_url, "max_retries": 0}
    else:
        settings["base_url"] = server.base_url + "/v1"
    return ModelSpec(provider, "m", settings=settings)


def _call(provider: str, s: ModelSpec) -> Any:
    if provider == "wire":
        prov = openai_wire.OpenAIWireProvider(ModelSpec("vllm", "m", settings=s.settings))

        async def go() -> Any:
            try:
                return await prov.complete(ChatRequest(s, [{"role": "user", "content": "hi"}]))
            finally:
                await prov.aclose()
        return asyncio.run(go())
    return call(s, "hi")


@pytest.mark.parametrize("provider", PROVIDERS)
def test_a_well_formed_answer_still_passes(provider: str, server: MalformedServer) -> None:
    completion = _call(provider, spec(provider, "ok", server))
    assert completion.text == "Paris"
    assert completion.finish_reason in ("stop", "end_turn")


@pytest.mark.parametrize("mode", BAD)
@pytest.mark.parametrize("provider", PROVIDERS)
def test_malformed_200_is_a_protocol_error(provider: str, mode: str,
                                           server: MalformedServer) -> None:
    remember_secret(SECRET)
    with pytest.raises(ProtocolError) as info:
        _call(provider, spec(provider, mode, server, echo=SECRET))
    error = info.value
    line = error.one_line()
    assert error.kind == "protocol" and error.kind in RETRYABLE_KINDS
    assert line.startswith(f"{provider if provider != 'wire' else 'vllm'}:m - ProtocolError: ")
    assert "\n" not in line and len(line) < 400
    assert SECRET not in line


@pytest.mark.parametrize("provider", ["openai", "anthropic", "bedrock"])
def test_what_was_received_is_named(provider: str, server: MalformedServer) -> None:
    with pytest.raises(ProtocolError, match=r"answered with text/html.*received: <html>"):
        _call(provider, spec(provider, "html", server))
    with pytest.raises(ProtocolError, match=r"without its \S+( event)? after"):
        _call(provider, spec(provider, "truncated", server))


def test_a_run_records_protocol_errors_not_wrong_answers(pytester: pytest.Pytester,
                                                         server: MalformedServer) -> None:
    """End to end: a cut-off stream is retried, then an error record; the healthy model's
    accuracy is untouched and the broken one has none (not 0)."""
    rows = [{"id": f"c{i}", "question": "the capital of France", "answer": "Paris"}
            for i in range(3)]
    write_suite(pytester.path, rows=rows)
    models = {"openai:good": "ok", "openai:cut": "truncated", "anthropic:html": "html"}
    config = "models:\n" + "".join(
        f"  {name}:\n    base_url: {server.base_url}{'/v1' if name.startswith('openai') else ''}\n"
        f"    api_key: sk-test\n    max_retries: 1\n"
        f"    headers: {json.dumps({'x-bad-mode': mode})}\n" for name, mode in models.items())
    pytester.makefile(".yaml", llmbench=config)
    result = pytester.runpytest_subprocess("arith.yaml", "--llmbench-models", ",".join(models),
                                           "--llmbench-retry-max-wait", "0.01",
                                           "-p", "no:cacheprovider")
    result.assert_outcomes(passed=3, errors=6)
    result.stdout.fnmatch_lines(["*openai:cut - ProtocolError: the stream ended without its "
                                 "finish_reason after 1 event*(after 2 attempts)*"])
    records = read_records(pytester)
    bad = [r for r in records if r["model"] != "openai:good"]
    assert {r["outcome"] for r in bad} == {"error"}
    assert {r["error_kind"] for r in bad} == {"protocol"}
    assert {r["attempts"] for r in bad} == {2}
    assert all(r["score"] is None and r["response"] in (None, "") for r in bad)
    rows_by_model = {row["model"]: row for row in read_summary(pytester)}
    assert rows_by_model["openai:good"]["accuracy"] == 1.0
    for name in ("openai:cut", "anthropic:html"):
        assert rows_by_model[name]["accuracy"] is None
        assert rows_by_model[name]["failed"] == 0 and rows_by_model[name]["errors"] == 3
