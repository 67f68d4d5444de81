"""The real boto3 bedrock-runtime client against the simulator."""

from __future__ import annotations

from typing import Any

import boto3
import botocore.exceptions
import pytest
import urllib3.exceptions
from botocore.config import Config

MSG = [{"role": "user", "content": [{"text": "Say something."}]}]


def make_client(base_url: str, key: str = "AKIDEXAMPLE", **config: Any) -> Any:
    return boto3.client(
        "bedrock-runtime", endpoint_url=base_url, region_name="us-east-1",
        aws_access_key_id=key, aws_secret_access_key="x",
        config=Config(retries={"total_max_attempts": 1}, **config),
    )


def with_headers(client: Any, headers: dict[str, str]) -> Any:
    """Add request headers (the fault switch) through botocore's event hooks."""

    def add(request: Any, **_: Any) -> None:
        for k, v in headers.items():
            request.headers[k] = v

    client.meta.events.register("before-sign.bedrock-runtime.*", add)
    return client


@pytest.fixture
def client(base_url: str) -> Any:
    return make_client(base_url)


def test_converse(client: Any) -> None:
    r = client.converse(modelId="quick", messages=MSG, system=[{"text": "be brief"}],
                        inferenceConfig={"maxTokens": 100})
    assert r["stopReason"] == "end_turn"
    assert r["usage"] == {"inputTokens": 5, "outputTokens": 12, "totalTokens": 17}
    assert r["metrics"]["latencyMs"] >= 0
    assert r["output"]["message"]["content"][0]["text"].startswith("Lorem")
    assert r["ResponseMetadata"]["RequestId"]


def test_model_id_with_colon_and_prefix(client: Any) -> None:
    r = client.converse(modelId="sim:quick", messages=MSG, inferenceConfig={"maxTokens": 2})
    assert r["stopReason"] == "max_tokens"
    assert r["usage"]["outputTokens"] == 2


def test_converse_stream(client: Any) -> None:
    events = list(client.converse_stream(modelId="quick", messages=MSG)["stream"])
    names = [next(iter(e)) for e in events]
    assert names[0] == "messageStart"
    assert names[-3:] == ["contentBlockStop", "messageStop", "metadata"]
    deltas = [e["contentBlockDelta"]["delta"]["text"] for e in events if "contentBlockDelta" in e]
    meta = events[-1]["metadata"]
    assert meta["usage"]["outputTokens"] == len(deltas) == 12
    assert meta["metrics"]["latencyMs"] >= 0
    full = client.converse(modelId="quick", messages=MSG)
    assert "".join(deltas) == full["output"]["message"]["content"][0]["text"]


@pytest.mark.parametrize(("key", "model", "kind", "code", "status"), [
    ("bad-key", "faulty", None, "UnrecognizedClientException", 403),
    ("k", "nope", None, "ResourceNotFoundException", 404),
    ("k", "faulty", "bad_request", "ValidationException", 400),
    ("k", "faulty", "rate_limit", "ThrottlingException", 429),
    ("k", "faulty", "server_error", "InternalServerException", 500),
    ("k", "faulty", "unavailable", "ServiceUnavailableException", 503),
    ("k", "faulty", "overloaded", "ServiceUnavailableException", 503),
])
@pytest.mark.parametrize("stream", [False, True])
def test_errors(base_url: str, key: str, model: str, kind: str | None, code: str, status: int,
                stream: bool) -> None:
    client = make_client(base_url, key)
    if kind:
        with_headers(client, {"x-llmbench-fault": kind})
    call = client.converse_stream if stream else client.converse
    with pytest.raises(botocore.exceptions.ClientError) as info:
        call(modelId=model, messages=MSG)
    assert info.value.response["Error"]["Code"] == code
    assert info.value.response["ResponseMetadata"]["HTTPStatusCode"] == status
    modelled = getattr(client.exceptions, code, None)
    if modelled is not None:
        assert isinstance(info.value, modelled)


def test_throttling_retry_after_header(base_url: str) -> None:
    client = with_headers(make_client(base_url), {"x-llmbench-fault": "rate_limit"})
    with pytest.raises(client.exceptions.ThrottlingException) as info:
        client.converse(modelId="faulty", messages=MSG)
    headers = info.value.response["ResponseMetadata"]["HTTPHeaders"]
    assert headers["x-amz-retry-after"] == "2000"


def test_mid_stream_exception(base_url: str) -> None:
    client = with_headers(make_client(base_url), {"x-llmbench-fault": "stream_error"})
    deltas = 0
    with pytest.raises(botocore.exceptions.EventStreamError) as info:
        for event in client.converse_stream(modelId="faulty", messages=MSG)["stream"]:
            deltas += "contentBlockDelta" in event
    assert deltas == 5
    assert info.value.response["Error"]["Code"] == "modelStreamErrorException"


# botocore's EventStream reads urllib3 directly and does not wrap its errors: a dropped
# connection mid-stream surfaces as urllib3's ProtocolError, a stall as its ReadTimeoutError.


def test_mid_stream_drop(base_url: str) -> None:
    client = with_headers(make_client(base_url), {"x-llmbench-fault": "drop"})
    deltas = 0
    with pytest.raises(urllib3.exceptions.ProtocolError):
        for event in client.converse_stream(modelId="faulty", messages=MSG)["stream"]:
            deltas += "contentBlockDelta" in event
    assert deltas == 5


def test_mid_stream_stall(base_url: str) -> None:
    client = with_headers(make_client(base_url, read_timeout=0.5), {"x-llmbench-fault": "stall"})
    with pytest.raises(urllib3.exceptions.ReadTimeoutError):
        list(client.converse_stream(modelId="faulty", messages=MSG)["stream"])


def test_non_streaming_faults(base_url: str) -> None:
    drop = with_headers(make_client(base_url), {"x-llmbench-fault": "drop"})
    with pytest.raises(botocore.exceptions.ConnectionClosedError):
        drop.converse(modelId="faulty", messages=MSG)
    stall = with_headers(make_client(base_url, read_timeout=0.5), {"x-llmbench-fault": "stall"})
    with pytest.raises(botocore.exceptions.ReadTimeoutError):
        stall.converse(modelId="faulty", messages=MSG)


def test_bad_json(base_url: str) -> None:
    import httpx

    r = httpx.post(base_url + "/model/quick/converse", content=b"{oops", trust_env=False)
    assert r.status_code == 400
    assert r.headers["x-amzn-errortype"].startswith("ValidationException:")
    assert "message" in r.json()
