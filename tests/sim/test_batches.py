"""The simulator's batch endpoints through the real SDKs: OpenAI Files + Batches, Anthropic
Message Batches, Bedrock invocation jobs and the S3 they read and write."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import anthropic
import boto3
import openai
import pytest
from botocore.config import Config

from pytest_llmbench.sim import SimServer
from pytest_llmbench.sim.config import SimConfigError, load_config

FAST = {"validate_s": 0.05, "process_s": 0.2, "finalize_s": 0.05}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SimServer]:
    answers = tmp_path_factory.mktemp("answers") / "answers.json"
    answers.write_text(json.dumps({"capital of France": "Paris"}))
    config = load_config(answer_keys=[answers])
    config.batch.update(FAST)
    with SimServer(config=config) as sim:
        yield sim


@pytest.fixture
def sim(server: SimServer) -> Iterator[SimServer]:
    saved = dict(server.state.batches.settings.__dict__)
    yield server
    server.state.batches.settings.__dict__.update(saved)


def _wait(check, timeout: float = 10.0):  # type: ignore[no-untyped-def]
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError("timed out")


def _openai(sim: SimServer) -> openai.OpenAI:
    return openai.OpenAI(base_url=sim.base_url + "/v1", api_key="sk-test", max_retries=0)


def _openai_batch(client: openai.OpenAI, n: int, model: str = "oracle") -> str:
    lines = [{"custom_id": f"r{i}", "method": "POST", "url": "/v1/chat/completions",
              "body": {"model": model, "messages": [
                  {"role": "user", "content": "What is the capital of France?"}]}}
             for i in range(n)]
    upload = client.files.create(file=("in.jsonl", "\n".join(map(json.dumps, lines)).encode()),
                                 purpose="batch")
    assert upload.purpose == "batch" and upload.bytes > 0
    batch = client.batches.create(input_file_id=upload.id, endpoint="/v1/chat/completions",
                                  completion_window="24h")
    assert batch.status in ("validating", "in_progress") and batch.request_counts.total == n
    return batch.id


def test_openai_batch_goes_through_its_states_and_writes_both_files(sim: SimServer) -> None:
    sim.state.batches.settings.update({"fail_fraction": 0.5})
    client = _openai(sim)
    batch_id = _openai_batch(client, 20)
    assert _wait(lambda: client.batches.retrieve(batch_id).status == "in_progress")
    batch = _wait(lambda: (b := client.batches.retrieve(batch_id)).status == "completed" and b)
    counts = batch.request_counts
    assert counts.completed + counts.failed == 20 and 0 < counts.failed < 20
    output = [json.loads(x) for x in client.files.content(batch.output_file_id).text.splitlines()]
    errors = [json.loads(x) for x in client.files.content(batch.error_file_id).text.splitlines()]
    assert len(output) == counts.completed and len(errors) == counts.failed
    body = output[0]["response"]["body"]
    assert output[0]["response"]["status_code"] == 200
    assert body["choices"][0]["message"]["content"] == "Paris"
    assert body["usage"]["prompt_tokens"] > 0
    assert errors[0]["response"]["status_code"] == 500
    assert batch_id in [b.id for b in client.batches.list()]


def test_openai_cancel_and_expiry(sim: SimServer) -> None:
    client = _openai(sim)
    sim.state.batches.settings.update({"validate_s": 0.0, "process_s": 5.0})
    batch_id = _openai_batch(client, 10)
    time.sleep(0.3)
    assert client.batches.cancel(batch_id).status == "cancelling"
    batch = _wait(lambda: (b := client.batches.retrieve(batch_id)).status == "cancelled" and b)
    lines = [json.loads(x) for x in client.files.content(batch.error_file_id).text.splitlines()]
    assert {x["error"]["code"] for x in lines if x["error"]} == {"batch_cancelled"}
    sim.state.batches.settings.update({"expire_s": 0.2})
    batch_id = _openai_batch(client, 10)
    batch = _wait(lambda: (b := client.batches.retrieve(batch_id)).status == "expired" and b)
    assert batch.expired_at is not None


def test_openai_rejects_a_bad_input_file(sim: SimServer) -> None:
    client = _openai(sim)
    upload = client.files.create(file=("in.jsonl", b'{"custom_id": "a"}\n{not json'),
                                 purpose="batch")
    with pytest.raises(openai.BadRequestError, match="line 1"):
        client.batches.create(input_file_id=upload.id, endpoint="/v1/chat/completions",
                              completion_window="24h")


def test_anthropic_message_batch_results(sim: SimServer) -> None:
    sim.state.batches.settings.update({"fail_fraction": 0.5})
    client = anthropic.Anthropic(base_url=sim.base_url, api_key="sk-test", max_retries=0)
    params = {"model": "oracle", "max_tokens": 50,
              "messages": [{"role": "user", "content": "What is the capital of France?"}]}
    batch = client.messages.batches.create(
        requests=[{"custom_id": f"r{i}", "params": params} for i in range(20)])
    assert batch.processing_status == "in_progress" and batch.results_url is None
    batch = _wait(lambda: (b := client.messages.batches.retrieve(batch.id))
                  .processing_status == "ended" and b)
    results = {r.custom_id: r.result for r in client.messages.batches.results(batch.id)}
    assert len(results) == 20
    kinds = {r.type for r in results.values()}
    assert kinds == {"succeeded", "errored"}
    ok = next(r for r in results.values() if r.type == "succeeded")
    assert ok.message.content[0].text == "Paris"
    assert batch.request_counts.succeeded + batch.request_counts.errored == 20
    with pytest.raises(anthropic.BadRequestError):
        client.messages.batches.create(requests=[{"custom_id": "bad id!", "params": params}])


def _aws(sim: SimServer, service: str):  # type: ignore[no-untyped-def]
    return boto3.client(service, endpoint_url=sim.base_url + ("/s3" if service == "s3" else ""),
                        region_name="us-east-1", aws_access_key_id="AK",
                        aws_secret_access_key="secret",
                        config=Config(s3={"addressing_style": "path"}))


def test_s3_objects(sim: SimServer) -> None:
    s3 = _aws(sim, "s3")
    s3.create_bucket(Bucket="b1")
    s3.put_object(Bucket="b1", Key="a/x.jsonl", Body=b"hello")
    assert s3.head_object(Bucket="b1", Key="a/x.jsonl")["ContentLength"] == 5
    assert s3.get_object(Bucket="b1", Key="a/x.jsonl")["Body"].read() == b"hello"
    assert [o["Key"] for o in s3.list_objects_v2(Bucket="b1", Prefix="a/")["Contents"]] == [
        "a/x.jsonl"]
    s3.delete_object(Bucket="b1", Key="a/x.jsonl")
    with pytest.raises(s3.exceptions.NoSuchKey):
        s3.get_object(Bucket="b1", Key="a/x.jsonl")


def test_bedrock_invocation_job_reads_and_writes_s3(sim: SimServer) -> None:
    s3, bedrock = _aws(sim, "s3"), _aws(sim, "bedrock")
    record = {"messages": [{"role": "user", "content": [{"text": "capital of France?"}]}],
              "inferenceConfig": {"maxTokens": 20}}
    s3.put_object(Bucket="b2", Key="in/x.jsonl", Body="\n".join(
        json.dumps({"recordId": f"R{i:010d}", "modelInput": record}) for i in range(3)).encode())
    arn = bedrock.create_model_invocation_job(
        jobName="j1", roleArn="arn:aws:iam::1:role/r", modelId="oracle",
        modelInvocationType="Converse",
        inputDataConfig={"s3InputDataConfig": {"s3Uri": "s3://b2/in/x.jsonl"}},
        outputDataConfig={"s3OutputDataConfig": {"s3Uri": "s3://b2/out/"}})["jobArn"]
    assert bedrock.get_model_invocation_job(jobIdentifier=arn)["status"] == "Validating"
    job = _wait(lambda: (j := bedrock.get_model_invocation_job(jobIdentifier=arn))["status"]
                == "Completed" and j)
    assert job["successRecordCount"] == 3 and job["totalRecordCount"] == 3
    job_id = arn.rsplit("/", 1)[-1]
    out = s3.get_object(Bucket="b2", Key=f"out/{job_id}/x.jsonl.out")["Body"].read()
    lines = [json.loads(x) for x in out.splitlines()]
    assert lines[0]["modelOutput"]["output"]["message"]["content"][0]["text"] == "Paris"
    assert lines[0]["modelOutput"]["usage"]["outputTokens"] == 1
    # a missing input object fails the job with the reason; stopping a finished job is refused
    arn = bedrock.create_model_invocation_job(
        jobName="j2", roleArn="arn:aws:iam::1:role/r", modelId="oracle",
        inputDataConfig={"s3InputDataConfig": {"s3Uri": "s3://b2/in/missing.jsonl"}},
        outputDataConfig={"s3OutputDataConfig": {"s3Uri": "s3://b2/out/"}})["jobArn"]
    job = bedrock.get_model_invocation_job(jobIdentifier=arn)
    assert job["status"] == "Failed" and "NoSuchKey" in job["message"]
    with pytest.raises(bedrock.exceptions.ValidationException):
        bedrock.stop_model_invocation_job(jobIdentifier=arn)


def test_bad_batch_settings_name_the_file(tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "sim.yaml"
    path.write_text("batch:\n  process_seconds: 3\n")
    with pytest.raises(SimConfigError, match="sim.yaml: batch: unknown key 'process_seconds'"):
        load_config(path)
