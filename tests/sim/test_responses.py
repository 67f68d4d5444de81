"""The real openai SDK's Responses API (``client.responses``) against the simulator."""

from __future__ import annotations

import json
import time

import httpx
import openai
import pytest

from pytest_llmbench.sim import SimServer


@pytest.fixture
def client(base_url: str) -> openai.OpenAI:
    return openai.OpenAI(base_url=base_url + "/v1", api_key="sk-test", max_retries=0)


def test_non_streaming(client: openai.OpenAI) -> None:
    r = client.responses.create(model="quick", input="Say something.")
    assert r.object == "response" and r.status == "completed" and r.id.startswith("resp_")
    assert r.model == "quick"
    assert r.output_text.startswith("Lorem ipsum")
    [item] = r.output
    assert item.type == "message" and item.role == "assistant" and item.id.startswith("msg_")
    assert r.usage is not None
    assert r.usage.output_tokens == 12
    assert r.usage.input_tokens == 3  # "Say", "something", "."
    assert r.usage.total_tokens == 15
    assert r.usage.input_tokens_details.cached_tokens == 0
    assert r.usage.output_tokens_details.reasoning_tokens == 0


def test_answer_key_through_message_items(client: openai.OpenAI) -> None:
    """``input`` as message items with ``input_text`` parts, plus ``instructions``: the
    answer key's entry is found in the prompt and answered as over Chat Completions."""
    r = client.responses.create(
        model="oracle", instructions="Answer with one word.",
        input=[{"role": "user",
                "content": [{"type": "input_text", "text": "What is the capital of France?"}]}])
    assert r.output_text == "Paris"
    assert r.instructions == "Answer with one word."
    chat = client.chat.completions.create(
        model="oracle", messages=[{"role": "user", "content": "the capital of France?"}])
    assert chat.choices[0].message.content == r.output_text


def test_case_header_picks_the_entry(client: openai.OpenAI) -> None:
    r = client.responses.create(model="oracle", input="anything",
                                extra_headers={"x-llmbench-case": "q012"})
    assert r.output_text == "84"


def test_streaming_events_and_usage(client: openai.OpenAI) -> None:
    events = list(client.responses.create(model="quick", input="Say something.", stream=True))
    types = [e.type for e in events]
    assert types[:4] == ["response.created", "response.in_progress",
                         "response.output_item.added", "response.content_part.added"]
    assert types[-4:] == ["response.output_text.done", "response.content_part.done",
                          "response.output_item.done", "response.completed"]
    assert [e.sequence_number for e in events] == list(range(len(events)))
    deltas = [e.delta for e in events if e.type == "response.output_text.delta"]
    assert len(deltas) == 12  # one event per token
    final = events[-1].response
    assert final.status == "completed"
    assert final.output_text == "".join(deltas)
    assert final.usage is not None and final.usage.output_tokens == 12
    assert events[0].response.id == final.id


def test_stream_helper_and_final_response(client: openai.OpenAI) -> None:
    with client.responses.stream(model="oracle", input="q007?",
                                 extra_headers={"x-llmbench-case": "q007"}) as stream:
        text = "".join(e.delta for e in stream if e.type == "response.output_text.delta")
        final = stream.get_final_response()
    assert text == final.output_text == "49"
    assert final.usage is not None and final.usage.output_tokens == 1


def test_async_streaming(base_url: str) -> None:
    import asyncio

    async def run() -> str:
        async with openai.AsyncOpenAI(base_url=base_url + "/v1", api_key="sk-test",
                                      max_retries=0) as aclient:
            stream = await aclient.responses.create(model="quick", input="hi", stream=True)
            return "".join([e.delta async for e in stream
                            if e.type == "response.output_text.delta"])

    assert asyncio.run(run()).startswith("Lorem ipsum")


def test_max_output_tokens_gives_incomplete(client: openai.OpenAI) -> None:
    r = client.responses.create(model="quick", input="hi", max_output_tokens=4)
    assert r.status == "incomplete"
    assert r.incomplete_details is not None
    assert r.incomplete_details.reason == "max_output_tokens"
    assert r.output_text == "Lorem ipsum dolor sit"
    events = list(client.responses.create(model="quick", input="hi", max_output_tokens=4,
                                          stream=True))
    assert events[-1].type == "response.incomplete"
    assert events[-1].response.usage.output_tokens == 4


def test_reasoning_model_gives_a_reasoning_item(client: openai.OpenAI) -> None:
    r = client.responses.create(model="thinker", input="hi")
    kinds = [item.type for item in r.output]
    assert kinds == ["reasoning", "message"]
    assert r.usage is not None and r.usage.output_tokens_details.reasoning_tokens == 24
    with client.responses.stream(model="thinker", input="hi") as stream:
        events = list(stream)
        final = stream.get_final_response()
    thinking = "".join(e.delta for e in events if e.type == "response.reasoning_text.delta")
    answer = "".join(e.delta for e in events if e.type == "response.output_text.delta")
    assert thinking and final.output[0].content[0].text == thinking
    assert answer == final.output_text == r.output_text


def test_latency_model_is_honoured(client: openai.OpenAI) -> None:
    """``timed``: TTFT 80 ms then 8 ms between tokens, as over Chat Completions."""
    start = time.monotonic()
    first = last = None
    with client.responses.create(model="timed", input="hi", stream=True) as stream:
        for event in stream:
            if event.type == "response.output_text.delta":
                last = time.monotonic()
                first = first or last
    assert first is not None and last is not None
    assert first - start >= 0.075
    assert last - first >= 9 * 0.008 * 0.9


def test_errors_use_openai_exceptions(client: openai.OpenAI) -> None:
    with pytest.raises(openai.NotFoundError) as err:
        client.responses.create(model="nope", input="hi")
    assert err.value.code == "model_not_found"
    with pytest.raises(openai.AuthenticationError):
        openai.OpenAI(base_url=str(client.base_url), api_key="bad-key",
                      max_retries=0).responses.create(model="quick", input="hi")
    with pytest.raises(openai.RateLimitError) as limited:
        client.responses.create(model="faulty", input="hi",
                                extra_headers={"x-llmbench-fault": "rate_limit"})
    assert limited.value.response.headers["retry-after"] == "2"
    with pytest.raises(openai.BadRequestError) as bad:
        client.responses.create(model="quick", input=[])
    assert bad.value.body["param"] == "input"  # type: ignore[index]


def test_mid_stream_fault(client: openai.OpenAI) -> None:
    events = list(client.responses.create(model="faulty", input="hi", stream=True,
                                          extra_headers={"x-llmbench-fault": "stream_error"}))
    assert [e.type for e in events if e.type == "response.output_text.delta"] == [
        "response.output_text.delta"] * 5
    assert [e.type for e in events[-2:]] == ["error", "response.failed"]
    assert events[-1].response.error.code == "server_error"
    with pytest.raises((httpx.RemoteProtocolError, openai.APIConnectionError)):
        list(client.responses.create(model="faulty", input="hi", stream=True,
                                     extra_headers={"x-llmbench-fault": "drop"}))


def test_metrics_count_the_route(sim: SimServer, client: openai.OpenAI) -> None:
    client.responses.create(model="quick", input="count me")
    metrics = httpx.get(sim.base_url + "/metrics").json()
    assert "/v1/responses" in json.dumps(metrics)


SCRIPT = [{"instruction": "Create the file hello.txt saying hi.",
           "steps": [{"tool": "write_file", "text": "Writing it.",
                      "args": {"path": "hello.txt", "content": "hi"}}]}]
TOOLS = [{"type": "function", "name": name, "description": name, "strict": False,
          "parameters": {"type": "object", "properties": {}, "additionalProperties": True}}
         for name in ("write_file", "finish")]


@pytest.mark.parametrize("stream", [False, True])
def test_tool_calling_round_trip(client: openai.OpenAI, base_url: str, stream: bool) -> None:
    """A scripted agent over the Responses API: a ``function_call`` item, then, with
    the ``function_call_output`` sent back, the script's next step (``finish``)."""
    httpx.post(base_url + "/llmbench/agent-solutions", json=SCRIPT).raise_for_status()
    history: list[object] = [{"role": "user", "content": SCRIPT[0]["instruction"]}]

    def turn() -> openai.types.responses.Response:
        if not stream:
            return client.responses.create(model="default", input=history,  # type: ignore[arg-type]
                                           tools=TOOLS)  # type: ignore[arg-type]
        with client.responses.stream(model="default", input=history,  # type: ignore[arg-type]
                                     tools=TOOLS) as s:  # type: ignore[arg-type]
            return s.get_final_response()

    first = turn()
    calls = [item for item in first.output if item.type == "function_call"]
    assert [c.name for c in calls] == ["write_file"]
    assert json.loads(calls[0].arguments) == {"path": "hello.txt", "content": "hi"}
    assert first.output_text == "Writing it."
    assert first.usage is not None and first.usage.output_tokens > 0
    history += [item.model_dump(exclude_none=True) for item in first.output]
    history.append({"type": "function_call_output", "call_id": calls[0].call_id,
                    "output": "wrote 2 bytes"})
    second = turn()
    assert [i.name for i in second.output if i.type == "function_call"] == ["finish"]
