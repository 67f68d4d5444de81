"""Bedrock batch inference: the records go to S3 as JSONL, a model invocation job
(``modelInvocationType: Converse``) reads them and writes ``<output>/<job id>/<file>.out``,
which is read back line by line.

Settings (per model in ``llmbench.yaml``): ``batch_s3_uri`` (``s3://bucket/prefix``,
required), ``batch_role_arn`` (the service role Bedrock assumes, required),
``s3_endpoint_url`` (an S3-compatible endpoint, e.g. the simulator's ``/s3``) and the
usual ``region`` / ``endpoint_url`` / credentials of ``bedrock:`` models.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import boto3
from botocore.config import Config

from pytest_llmbench.config import ModelSpec
from pytest_llmbench.errors import ConfigError, ProviderError
from pytest_llmbench.providers.base import ChatRequest, Completion
from pytest_llmbench.providers.batch_base import (
    BatchResults,
    BatchStatus,
    completion,
    dumps,
    malformed,
    read_result_lines,
    status_error,
)
from pytest_llmbench.providers.bedrock_converse import converse_args
from pytest_llmbench.providers.errors_map import classify

_STATES = {"Submitted": "validating", "Validating": "validating", "Scheduled": "validating",
           "InProgress": "in_progress", "Stopping": "cancelling"}


def _split(uri: str, where: str) -> tuple[str, str]:
    if not uri.startswith("s3://") or "/" not in uri[5:] + "/":
        raise ConfigError(f"{where}: batch_s3_uri must look like s3://bucket/prefix, got {uri!r}")
    bucket, _, key = uri[5:].partition("/")
    if not bucket:
        raise ConfigError(f"{where}: batch_s3_uri has no bucket: {uri!r}")
    return bucket, key.strip("/")


class BedrockBatch:
    max_requests = 50_000
    max_bytes = 1024 * 1024 * 1024

    def __init__(self, spec: ModelSpec, context: dict[str, Any]) -> None:
        self.spec = spec
        settings = spec.settings
        uri, role = settings.get("batch_s3_uri"), settings.get("batch_role_arn")
        if not uri or not role:
            raise ConfigError(f"{spec.name}: Bedrock batch inference needs batch_s3_uri "
                              "(s3://bucket/prefix) and batch_role_arn in llmbench.yaml")
        self.bucket, self.prefix = _split(str(uri), spec.name)
        self.role = str(role)
        session = boto3.session.Session(
            profile_name=settings.get("profile"),
            aws_access_key_id=settings.get("aws_access_key_id"),
            aws_secret_access_key=settings.get("aws_secret_access_key"),
            aws_session_token=settings.get("aws_session_token"))
        region = (settings.get("region") or os.environ.get("AWS_REGION")
                  or os.environ.get("AWS_DEFAULT_REGION") or session.region_name)
        if not region:
            raise ConfigError(f"{spec.name}: set AWS_REGION (or region in llmbench.yaml)")
        config = Config(retries={"max_attempts": 4, "mode": "standard"},
                        s3={"addressing_style": "path"} if settings.get("s3_endpoint_url")
                        else None)
        self.bedrock = session.client("bedrock", region_name=region, config=config,
                                      endpoint_url=settings.get("endpoint_url"))
        self.s3 = session.client("s3", region_name=region, config=config,
                                 endpoint_url=settings.get("s3_endpoint_url"))
        self.max_requests = int(settings.get("batch_max_requests", self.max_requests))
        self.max_bytes = int(settings.get("batch_max_bytes", self.max_bytes))
        self.timeout_hours = int(settings.get("batch_timeout_hours", 24))

    def _key(self, *parts: str) -> str:
        return "/".join(p for p in (self.prefix, *parts) if p)

    def line(self, request: ChatRequest, custom_id: str) -> bytes:
        body = converse_args(self.spec.api_model, request.messages, request.params)
        body.pop("modelId")
        return dumps({"recordId": custom_id, "modelInput": body})

    def submit(self, lines: Sequence[bytes], name: str) -> str:
        key = self._key("input", f"{name}.jsonl")
        try:
            self.s3.put_object(Bucket=self.bucket, Key=key, Body=b"\n".join(lines) + b"\n")
            job = self.bedrock.create_model_invocation_job(
                jobName=name[:63], roleArn=self.role, modelId=self.spec.api_model,
                clientRequestToken=name[:256], modelInvocationType="Converse",
                inputDataConfig={"s3InputDataConfig": {
                    "s3Uri": f"s3://{self.bucket}/{key}", "s3InputFormat": "JSONL"}},
                outputDataConfig={"s3OutputDataConfig": {
                    "s3Uri": f"s3://{self.bucket}/{self._key('output')}/"}},
                timeoutDurationInHours=self.timeout_hours)
        except Exception as exc:  # noqa: BLE001 - one classified line
            raise classify(exc, self.spec.name) from exc
        return str(job["jobArn"])

    def status(self, batch_id: str) -> BatchStatus:
        try:
            job = self.bedrock.get_model_invocation_job(jobIdentifier=batch_id)
        except Exception as exc:  # noqa: BLE001
            raise classify(exc, self.spec.name) from exc
        status = str(job.get("status"))
        state = _STATES.get(status, "ended")
        expires = job.get("jobExpirationTime")
        message = job.get("message")
        if state == "ended" and status not in ("Completed",) and not message:
            message = f"the job ended {status}"
        total = int(job.get("totalRecordCount") or 0)
        return BatchStatus(state, status, total=total,
                           done=int(job.get("successRecordCount") or 0),
                           failed=int(job.get("errorRecordCount") or 0),
                           expires_at=expires.timestamp() if isinstance(expires, datetime)
                           else None, message=f"{status}: {message}" if message else None,
                           extra={"input": job.get("inputDataConfig", {}),
                                  "output": job.get("outputDataConfig", {}),
                                  "failed": status == "Failed"})

    def results(self, batch_id: str, status: BatchStatus) -> BatchResults:
        out = BatchResults(missing_reason=status.message)
        if status.extra.get("failed"):
            return out
        try:
            in_uri = status.extra["input"]["s3InputDataConfig"]["s3Uri"]
            out_uri = status.extra["output"]["s3OutputDataConfig"]["s3Uri"]
        except (KeyError, TypeError):
            out.missing_reason = "the job does not say where its output is"
            return out
        bucket, prefix = out_uri[5:].partition("/")[::2]
        name = in_uri.rsplit("/", 1)[-1]
        job_id = batch_id.rsplit("/", 1)[-1]
        key = f"{prefix.strip('/')}/{job_id}/{name}.out".lstrip("/")
        try:
            data = self.s3.get_object(Bucket=bucket, Key=key)["Body"].read()
        except Exception as exc:  # noqa: BLE001 - a missing object fails the job's requests
            out.missing_reason = (f"the output object s3://{bucket}/{key} could not be read "
                                  f"({type(exc).__name__}: {exc})")
            return out
        read_result_lines(data, out, self.spec.name, "recordId", self._answer)
        return out

    def _answer(self, line: dict[str, Any]) -> Completion | ProviderError:
        model = self.spec.name
        error = line.get("error")
        if error is not None:
            if not isinstance(error, dict):
                raise malformed(model, f"error {error!r}")
            return status_error(model, error.get("errorCode"), "ModelInvocationError",
                                str(error.get("errorMessage") or error))
        output = line["modelOutput"]
        content = output["output"]["message"]["content"]
        text = "".join(b["text"] for b in content if isinstance(b, dict) and "text" in b)
        thought = "".join(b["reasoningContent"]["reasoningText"].get("text", "")
                          for b in content if isinstance(b, dict) and "reasoningContent" in b)
        usage = output.get("usage") or {}
        if output.get("stopReason") in ("guardrail_intervened", "content_filtered"):
            return ProviderError(f"stopReason={output['stopReason']}", model=model,
                                 kind="content_filtered", error_type="ContentFiltered")
        return completion(text, usage.get("inputTokens"), usage.get("outputTokens"),
                          output.get("stopReason"), usage, model, reasoning=thought or None)

    def cancel(self, batch_id: str) -> None:
        self.bedrock.stop_model_invocation_job(jobIdentifier=batch_id)
