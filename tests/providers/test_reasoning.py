"""Reasoning models: thinking kept apart from the answer in every wire format, real SDKs."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from pytest_llmbench.errors import ConfigError
from pytest_llmbench.providers.reasoning import ThinkSplitter
from pytest_llmbench.sim import SimServer
from tests.providers.conftest import call, spec_for

THOUGHT = "Let me think about this step by step"


@pytest.fixture(scope="module")
def thinking_sim() -> Iterator[SimServer]:
    models = ["rc:base=thinker,policy=echo",
              "rs:base=thinker,policy=echo,reasoning_format=reasoning",
              "tags:base=thinker,policy=echo,reasoning_format=think_tags"]
    with SimServer(models=models) as server:
        yield server


@pytest.mark.parametrize(("provider", "model", "exact"), [
    ("openai", "rc", True),       # delta.reasoning_content + completion_tokens_details
    ("vllm", "rs", True),         # delta.reasoning (vLLM >= 0.10, Ollama)
    ("vllm", "tags", False),      # <think>...</think> inside the content
    ("anthropic", "rc", False),   # thinking content block, thinking_delta
    ("bedrock", "rc", False),     # contentBlockDelta.reasoningContent
])
def test_thinking_is_apart_from_the_answer(thinking_sim: SimServer, provider: str, model: str,
                                           exact: bool) -> None:
    completion = call(spec_for(provider, model, thinking_sim), prompt="Paris")
    assert completion.text == "Paris"
    assert completion.reasoning is not None and completion.reasoning.startswith(THOUGHT)
    assert "<think>" not in completion.reasoning
    assert completion.reasoning_tokens_estimated is not exact
    if exact:
        assert completion.reasoning_tokens == 24
    assert 0 < completion.reasoning_tokens < completion.output_tokens  # type: ignore[operator]
    assert completion.reasoning_ttft_s is not None and completion.ttft_s is not None
    assert completion.reasoning_ttft_s < completion.ttft_s


def test_think_tags_off_keeps_the_raw_content(thinking_sim: SimServer) -> None:
    completion = call(spec_for("vllm", "tags", thinking_sim, think_tags="off"), prompt="Paris")
    assert completion.text.startswith("<think>" + THOUGHT) and completion.text.endswith("Paris")
    assert completion.reasoning is None


def test_bad_think_tags_setting_is_named(thinking_sim: SimServer) -> None:
    with pytest.raises(ConfigError, match="vllm:tags: think_tags must be one of auto, open, off"):
        call(spec_for("vllm", "tags", thinking_sim, think_tags="maybe"))


def _split(chunks: list[str], inside: bool = False) -> tuple[str, list[str]]:
    content: list[str] = []
    thinking: list[str] = []
    splitter = ThinkSplitter(content.append, thinking.append, inside)
    for chunk in chunks:
        splitter.feed(chunk)
    splitter.flush()
    return "".join(thinking), content


def test_splitter_handles_tags_cut_across_chunks() -> None:
    assert _split(["<thi", "nk>I think", " hard</th", "ink>\n\n", "Paris"]) == ("I think hard", ["Paris"])
    # text that only looks like the start of a tag comes out at the end
    assert _split(["a <b> city <", "thin"]) == ("", ["a <b> city ", "<thin"])
    # the chat template already opened the block: everything up to </think> is thinking
    assert _split(["Hmm. ", "</think>", "\n", "Paris"], inside=True) == ("Hmm. ", ["Paris"])
    # plain answers keep their leading space
    assert _split([" Paris"]) == ("", [" Paris"])


def test_simulator_non_streaming_bodies_carry_the_thinking(thinking_sim: SimServer) -> None:
    import anthropic
    import boto3
    import openai

    ask = [{"role": "user", "content": "Paris"}]
    reply = openai.OpenAI(base_url=thinking_sim.base_url + "/v1", api_key="k").chat.completions.create(
        model="rc", messages=ask)  # type: ignore[arg-type]
    assert reply.choices[0].message.content == "Paris"
    assert (reply.choices[0].message.model_extra or {})["reasoning_content"].startswith(THOUGHT)
    assert reply.usage is not None and reply.usage.completion_tokens_details is not None
    assert reply.usage.completion_tokens_details.reasoning_tokens == 24
    message = anthropic.Anthropic(base_url=thinking_sim.base_url, api_key="k").messages.create(
        model="rc", max_tokens=100, messages=ask)  # type: ignore[arg-type]
    assert [block.type for block in message.content] == ["thinking", "text"]
    client = boto3.client("bedrock-runtime", endpoint_url=thinking_sim.base_url,
                          region_name="us-east-1")
    converse = client.converse(modelId="rc", messages=[{"role": "user", "content": [{"text": "Paris"}]}])
    content = converse["output"]["message"]["content"]
    assert content[0]["reasoningContent"]["reasoningText"]["text"].startswith(THOUGHT)
    assert content[1]["text"] == "Paris"
