"""Bedrock batch inference (the ``bedrock`` control plane) and a small S3, as boto3 speaks them.

Model invocation jobs: ``POST /model-invocation-job`` (CreateModelInvocationJob),
``GET /model-invocation-job/{id or ARN}``, ``POST .../stop`` and ``GET
/model-invocation-jobs``. A job reads JSONL records (``{"recordId", "modelInput"}``,
Converse bodies with ``modelInvocationType: Converse``, Anthropic bodies with
InvokeModel) from the S3 input URI and, once it ends, writes
``<output URI>/<job id>/<input file>.out`` (``modelOutput`` or ``error`` per record)
and ``manifest.json.out``. Records a stopped or expired job never ran are absent.

S3 is path-style under ``/s3`` (boto3 ``endpoint_url=<sim>/s3``, addressing style
``path``): PutObject, GetObject, HeadObject, DeleteObject, ListObjectsV2 and
CreateBucket, with S3's XML errors. SigV4 is not checked.
"""

from __future__ import annotations

import hashlib
import json
import time
from datetime import UTC, datetime
from typing import Any
from urllib.parse import unquote
from xml.sax.saxutils import escape

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from pytest_llmbench.sim import anthropic_api, bedrock_api
from pytest_llmbench.sim.batch_jobs import (
    BatchItem,
    BatchJob,
    BatchStore,
    Outcome,
    as_delivered,
    iso_time,
    key_error,
)
from pytest_llmbench.sim.state import SimError, SimState

ACCOUNT = "123456789012"
_STATUS = {"validating": "Validating", "in_progress": "InProgress", "finalizing": "InProgress",
           "completed": "Completed", "cancelling": "Stopping", "cancelled": "Stopped",
           "expired": "Expired"}


def _aws_error(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse({"message": message}, status_code=status,
                        headers={"x-amzn-errortype": f"{code}:http://internal.amazon.com/"})


def _s3_error(status: int, code: str, message: str, key: str = "") -> Response:
    body = (f'<?xml version="1.0" encoding="UTF-8"?><Error><Code>{code}</Code>'
            f"<Message>{escape(message)}</Message><Key>{escape(key)}</Key>"
            "<RequestId>SIMS3REQUEST</RequestId></Error>")
    return Response(body if status != 404 or code else "", status_code=status,
                    media_type="application/xml")


def split_uri(uri: str) -> tuple[str, str]:
    """``s3://bucket/key`` -> (bucket, key)."""
    if not uri.startswith("s3://"):
        raise ValueError(f"not an s3:// URI: {uri!r}")
    bucket, _, key = uri[5:].partition("/")
    return bucket, key


def _decode_chunked(data: bytes) -> bytes:
    """An ``aws-chunked`` body (botocore's streamed checksums) back to its bytes."""
    out, pos = bytearray(), 0
    while pos < len(data):
        end = data.index(b"\r\n", pos)
        size = int(data[pos:end].split(b";")[0], 16)
        if size == 0:
            break
        out += data[end + 2:end + 2 + size]
        pos = end + 2 + size + 2
    return bytes(out)


def parse_records(data: bytes, converse: bool) -> list[BatchItem]:
    items: list[BatchItem] = []
    for number, raw in enumerate(data.splitlines(), 1):
        if not raw.strip():
            continue
        try:
            line = json.loads(raw)
            record_id = str(line.get("recordId") or f"{number:011d}")
            body = line["modelInput"]
        except (ValueError, KeyError, TypeError, AttributeError):
            items.append(BatchItem(f"line{number}", None, None,
                                   invalid=f"line {number}: not a record with modelInput"))
            continue
        try:
            encoded = json.dumps(body).encode()
            if converse:
                request = bedrock_api.parse_converse({}, encoded, "", False)
            elif isinstance(body, dict) and "anthropic_version" in body:
                request = anthropic_api.parse_messages({}, encoded, "model")
            else:
                raise SimError("bad_request", "modelInput: the simulator reads Converse or "
                               "Anthropic (anthropic_version) bodies")
            items.append(BatchItem(record_id, request, body))
        except SimError as err:
            items.append(BatchItem(record_id, None, body, invalid=err.message))
    return items


def job_object(job: BatchJob, state: SimState) -> dict[str, Any]:
    now = time.time()
    meta = job.meta
    if meta.get("failed"):
        status, counts = "Failed", dict.fromkeys(("succeeded", "errored", "processing"), 0)
    else:
        counts = job.counts(state, now)
        status = _STATUS[job.status(now)]
        if status == "Completed" and counts["errored"]:
            status = "PartiallyCompleted"
    ended = meta.get("failed") or job.ended_at(now) is not None
    message = meta.get("failed") or {"Stopped": "Job stopped by request.",
                                     "Expired": "Job expired before all records were processed.",
                                     }.get(status)
    out = {
        "jobArn": meta["arn"], "jobName": meta["name"], "modelId": meta["model"],
        "roleArn": meta["role"], "status": status, "submitTime": iso_time(job.created),
        "lastModifiedTime": iso_time(now), "endTime": iso_time(now) if ended else None,
        "inputDataConfig": meta["input"], "outputDataConfig": meta["output"],
        "timeoutDurationInHours": meta["timeout_h"], "jobExpirationTime": iso_time(job.expires_at),
        "modelInvocationType": meta["type"], "totalRecordCount": len(job.items),
        "processedRecordCount": counts["succeeded"] + counts["errored"],
        "successRecordCount": counts["succeeded"], "errorRecordCount": counts["errored"],
    }
    if meta.get("token"):
        out["clientRequestToken"] = meta["token"]
    if message:
        out["message"] = message
    return {k: v for k, v in out.items() if v is not None}


def _output_line(outcome: Outcome) -> bytes | None:
    item = outcome.item
    line: dict[str, Any] = {"recordId": item.custom_id, "modelInput": item.body}
    if outcome.not_run:
        return None
    if outcome.error is not None:
        status, _, _ = bedrock_api.BedrockWire(None).error(outcome.error, 1.0)
        line["error"] = {"errorCode": status, "errorMessage": outcome.error.message}
    else:
        assert outcome.plan is not None
        if isinstance(item.body, dict) and "anthropic_version" in item.body:
            wire: Any = anthropic_api.AnthropicWire(outcome.plan)
        else:
            wire = bedrock_api.BedrockWire(outcome.plan)
        line["modelOutput"] = json.loads(wire.complete(outcome.plan, outcome.plan.duration))
    return json.dumps(line).encode()


def finish(job: BatchJob, store: BatchStore, state: SimState) -> None:
    """Write the job's output objects once it has ended (once)."""
    if "finished" in job.meta or job.meta.get("failed") or job.ended_at() is None:
        return
    job.meta["finished"] = True
    if job.settings.lose_output:
        return
    lines = [as_delivered(line, outcome) for _, outcome in job.delivered(state)
             if (line := _output_line(outcome)) is not None]
    bucket, prefix = split_uri(job.meta["output"]["s3OutputDataConfig"]["s3Uri"])
    folder = f"{prefix.rstrip('/')}/{job.id}/" if prefix.strip("/") else f"{job.id}/"
    name = job.meta["input_key"].rsplit("/", 1)[-1]
    now = time.time()
    store.objects[(bucket, folder + name + ".out")] = (b"\n".join(lines) + b"\n", now)
    counts = job.counts(state)
    manifest = {"totalRecordCount": len(job.items),
                "processedRecordCount": counts["succeeded"] + counts["errored"],
                "successRecordCount": counts["succeeded"], "errorRecordCount": counts["errored"]}
    store.objects[(bucket, folder + "manifest.json.out")] = (json.dumps(manifest).encode(), now)


def _job_id(identifier: str) -> str:
    return unquote(identifier).rsplit("/", 1)[-1]


def routes(state: SimState, store: BatchStore) -> list[Route]:
    async def create(request: Request) -> Response:
        if (why := key_error(state, bedrock_api.api_key(request.headers))) is not None:
            return _aws_error(403, "UnrecognizedClientException", why)
        try:
            body = await request.json()
            name, role, model = body["jobName"], body["roleArn"], body["modelId"]
            input_uri = body["inputDataConfig"]["s3InputDataConfig"]["s3Uri"]
            output_uri = body["outputDataConfig"]["s3OutputDataConfig"]["s3Uri"]
            bucket, key = split_uri(input_uri)
            split_uri(output_uri)
        except (ValueError, KeyError, TypeError) as exc:
            return _aws_error(400, "ValidationException", f"invalid request: {exc}")
        token = body.get("clientRequestToken")
        if token:
            for job in store.of_kind("bedrock"):
                if job.meta.get("token") == token:
                    return JSONResponse({"jobArn": job.meta["arn"]})
        invocation = body.get("modelInvocationType") or "InvokeModel"
        failed = None
        stored = store.objects.get((bucket, key))
        items: list[BatchItem] = []
        if stored is None:
            failed = f"Unable to read the input object {input_uri}: NoSuchKey"
        else:
            items = parse_records(stored[0], invocation == "Converse")
            for item in items:
                if item.request is not None:
                    item.request.model = model
            if len(items) < store.settings.min_records:
                failed = (f"The job has {len(items)} records; at least "
                          f"{store.settings.min_records} are required")
            elif len(items) > store.settings.max_requests:
                failed = (f"The job has {len(items)} records; at most "
                          f"{store.settings.max_requests} are allowed")
        if state.config.model(model) is None:
            return _aws_error(404, "ResourceNotFoundException", f"model {model} is not simulated")
        job = store.add_job("bedrock", items, prefix="")
        job.meta.update({
            "arn": f"arn:aws:bedrock:us-east-1:{ACCOUNT}:model-invocation-job/{job.id}",
            "name": name, "role": role, "model": model, "token": token, "type": invocation,
            "input": body["inputDataConfig"], "output": body["outputDataConfig"],
            "timeout_h": int(body.get("timeoutDurationInHours") or 24), "input_key": key,
            "failed": failed})
        return JSONResponse({"jobArn": job.meta["arn"]})

    def _job(request: Request) -> BatchJob | None:
        return store.job(_job_id(request.path_params["job"]), "bedrock")

    async def get(request: Request) -> Response:
        job = _job(request)
        if job is None:
            return _aws_error(404, "ResourceNotFoundException", "job not found")
        finish(job, store, state)
        return JSONResponse(job_object(job, state))

    async def stop(request: Request) -> Response:
        job = _job(request)
        if job is None:
            return _aws_error(404, "ResourceNotFoundException", "job not found")
        if job.ended_at() is not None or job.meta.get("failed"):
            return _aws_error(400, "ValidationException", "the job has already ended")
        job.cancel()
        return JSONResponse({})

    async def listing(request: Request) -> Response:
        jobs = store.of_kind("bedrock")
        for job in jobs:
            finish(job, store, state)
        summaries = []
        for job in reversed(jobs):
            full = job_object(job, state)
            summaries.append({k: full[k] for k in full if k not in ("lastModifiedTime",)})
        return JSONResponse({"invocationJobSummaries": summaries})

    # S3 ---------------------------------------------------------------
    async def put_object(request: Request) -> Response:
        bucket, key = request.path_params["bucket"], request.path_params["key"]
        data = await request.body()
        if ("aws-chunked" in request.headers.get("content-encoding", "")
                or request.headers.get("x-amz-content-sha256", "").startswith("STREAMING-")):
            data = _decode_chunked(data)
        store.objects[(bucket, key)] = (data, time.time())
        return Response(b"", headers={"etag": f'"{hashlib.md5(data).hexdigest()}"'})  # noqa: S324

    async def get_object(request: Request) -> Response:
        bucket, key = request.path_params["bucket"], request.path_params["key"]
        stored = store.objects.get((bucket, key))
        if stored is None:
            if request.method == "HEAD":
                return Response(b"", status_code=404)
            return _s3_error(404, "NoSuchKey", "The specified key does not exist.", key)
        data, stamp = stored
        headers = {"etag": f'"{hashlib.md5(data).hexdigest()}"',  # noqa: S324
                   "last-modified": datetime.fromtimestamp(stamp, UTC).strftime(
                       "%a, %d %b %Y %H:%M:%S GMT")}
        if request.method == "HEAD":
            return Response(b"", headers={**headers, "content-length": str(len(data))})
        return Response(data, media_type="application/octet-stream", headers=headers)

    async def delete_object(request: Request) -> Response:
        store.objects.pop((request.path_params["bucket"], request.path_params["key"]), None)
        return Response(b"", status_code=204)

    async def bucket(request: Request) -> Response:
        name = request.path_params["bucket"]
        if request.method == "PUT":
            return Response(b"", headers={"location": f"/{name}"})
        prefix = request.query_params.get("prefix", "")
        keys = sorted(k for (b, k) in store.objects if b == name and k.startswith(prefix))
        contents = "".join(
            f"<Contents><Key>{escape(k)}</Key><Size>{len(store.objects[(name, k)][0])}</Size>"
            f"<LastModified>{iso_time(store.objects[(name, k)][1])}</LastModified>"
            "<StorageClass>STANDARD</StorageClass></Contents>" for k in keys)
        body = ('<?xml version="1.0" encoding="UTF-8"?><ListBucketResult '
                'xmlns="http://s3.amazonaws.com/doc/2006-03-01/">'
                f"<Name>{escape(name)}</Name><Prefix>{escape(prefix)}</Prefix>"
                f"<KeyCount>{len(keys)}</KeyCount><MaxKeys>1000</MaxKeys>"
                f"<IsTruncated>false</IsTruncated>{contents}</ListBucketResult>")
        return Response(body, media_type="application/xml")

    return [
        Route("/model-invocation-job", create, methods=["POST"]),
        Route("/model-invocation-jobs", listing, methods=["GET"]),
        Route("/model-invocation-job/{job:path}/stop", stop, methods=["POST"]),
        Route("/model-invocation-job/{job:path}", get, methods=["GET"]),
        Route("/s3/{bucket}", bucket, methods=["GET", "PUT"]),
        Route("/s3/{bucket}/{key:path}", put_object, methods=["PUT"]),
        Route("/s3/{bucket}/{key:path}", get_object, methods=["GET", "HEAD"]),
        Route("/s3/{bucket}/{key:path}", delete_object, methods=["DELETE"]),
    ]
