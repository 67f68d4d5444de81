"""Anthropic Message Batches: one create call with every request, polled, and the
results JSONL read as raw lines (so a broken line costs only its own request).
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import anthropic

from pytest_llmbench.config import ModelSpec
from pytest_llmbench.errors import ProviderError
from pytest_llmbench.providers import common
from pytest_llmbench.providers.anthropic_messages import DEFAULT_MAX_TOKENS
from pytest_llmbench.providers.base import ChatRequest, Completion
from pytest_llmbench.providers.batch_base import (
    BatchResults,
    BatchStatus,
    completion,
    dumps,
    malformed,
    read_result_lines,
)
from pytest_llmbench.providers.common import split_system
from pytest_llmbench.providers.errors_map import classify

_BODY_KINDS = {"rate_limit_error": "rate_limited", "overloaded_error": "server_error",
               "api_error": "server_error", "authentication_error": "auth",
               "permission_error": "auth", "not_found_error": "not_found",
               "invalid_request_error": "bad_request"}


def message_params(model: str, request: ChatRequest) -> dict[str, Any]:
    """The Messages API body of a request (as the live provider sends it, not streamed)."""
    system, turns = split_system(request.messages)
    params = dict(request.params)
    max_tokens = params.pop("max_tokens", None) or params.pop("max_completion_tokens", None)
    body: dict[str, Any] = {"model": model, "messages": turns,
                            "max_tokens": int(max_tokens or DEFAULT_MAX_TOKENS), **params}
    if system is not None:
        body["system"] = system
    return body


def read_message(message: Any, model: str, raw_usage: bool = True) -> Completion:
    """A Messages API ``message`` object (a dict) as a batch Completion."""
    if not isinstance(message, dict) or not isinstance(message.get("content"), list):
        raise malformed(model, "the message has no content")
    text = "".join(b.get("text", "") for b in message["content"]
                   if isinstance(b, dict) and b.get("type") == "text")
    thought = "".join(b.get("thinking", "") for b in message["content"]
                      if isinstance(b, dict) and b.get("type") == "thinking") or None
    usage = message.get("usage")
    if not isinstance(usage, dict):
        raise malformed(model, "the message has no usage")
    if message.get("stop_reason") == "refusal":
        return ProviderError("stop_reason=refusal", model=model, kind="content_filtered",
                             error_type="ContentFiltered")  # type: ignore[return-value]
    return completion(text, usage.get("input_tokens"), usage.get("output_tokens"),
                      message.get("stop_reason"), usage if raw_usage else None, model,
                      reasoning=thought)


class AnthropicBatch:
    max_requests = 100_000
    max_bytes = 256 * 1024 * 1024

    def __init__(self, spec: ModelSpec, context: dict[str, Any]) -> None:
        self.spec = spec
        settings = spec.settings
        key = settings.get("api_key") or os.environ.get("ANTHROPIC_API_KEY")
        token = settings.get("auth_token") or os.environ.get("ANTHROPIC_AUTH_TOKEN")
        if not key and not token:
            key = common.api_key(spec, "ANTHROPIC_API_KEY", required=True)
        args: dict[str, Any] = {"api_key": key or None, "auth_token": token or None,
                                "max_retries": 3, "default_headers": common.headers(spec)}
        base_url = settings.get("base_url") or os.environ.get("ANTHROPIC_BASE_URL")
        if base_url:
            args["base_url"] = str(base_url)
        self.max_requests = int(settings.get("batch_max_requests", self.max_requests))
        self.max_bytes = int(settings.get("batch_max_bytes", self.max_bytes))
        self.client = anthropic.Anthropic(**args)

    def line(self, request: ChatRequest, custom_id: str) -> bytes:
        return dumps({"custom_id": custom_id,
                      "params": message_params(self.spec.api_model, request)})

    def submit(self, lines: Sequence[bytes], name: str) -> str:
        requests = [json.loads(line) for line in lines]
        try:
            batch = self.client.messages.batches.create(requests=requests)
        except Exception as exc:  # noqa: BLE001 - one classified line
            raise classify(exc, self.spec.name) from exc
        return batch.id

    def status(self, batch_id: str) -> BatchStatus:
        try:
            batch = self.client.messages.batches.retrieve(batch_id)
        except Exception as exc:  # noqa: BLE001
            raise classify(exc, self.spec.name) from exc
        counts = batch.request_counts
        total = (counts.processing + counts.succeeded + counts.errored + counts.canceled
                 + counts.expired)
        state = {"in_progress": "in_progress", "canceling": "cancelling"}.get(
            batch.processing_status, "ended")
        message = None
        if counts.expired:
            message = f"{counts.expired} requests expired before the batch ended"
        elif counts.canceled:
            message = "the batch was canceled"
        expires = batch.expires_at
        return BatchStatus(state, batch.processing_status, total=total, done=counts.succeeded,
                           failed=counts.errored + counts.expired + counts.canceled,
                           expires_at=expires.timestamp() if isinstance(expires, datetime)
                           else None, message=message,
                           extra={"results_url": batch.results_url})

    def results(self, batch_id: str, status: BatchStatus) -> BatchResults:
        out = BatchResults(missing_reason=status.message)
        url = status.extra.get("results_url")
        if not url:
            out.missing_reason = "the ended batch has no results_url"
            return out
        try:
            response = self.client.get(url, cast_to=bytes,  # raw lines, read one by one
                                       options={"headers": {"Accept": "application/binary"}})
        except Exception as exc:  # noqa: BLE001
            out.missing_reason = f"its results could not be read: {classify(exc, '')}"
            return out
        read_result_lines(bytes(response), out, self.spec.name, "custom_id", self._answer)
        return out

    def _answer(self, line: dict[str, Any]) -> Completion | ProviderError:
        model = self.spec.name
        result = line["result"]
        kind = result["type"]
        if kind == "succeeded":
            return read_message(result.get("message"), model)
        if kind == "errored":
            error = (result.get("error") or {}).get("error") or {}
            etype = str(error.get("type") or "api_error")
            return ProviderError(str(error.get("message") or etype), model=model,
                                 kind=_BODY_KINDS.get(etype, "other"), error_type=etype)
        if kind in ("canceled", "expired"):
            return ProviderError(f"the request was {kind} before it ran", model=model,
                                 kind="cancelled" if kind == "canceled" else "expired",
                                 error_type=f"batch_{kind}")
        raise malformed(model, f"result type {kind!r}")

    def cancel(self, batch_id: str) -> None:
        self.client.messages.batches.cancel(batch_id)
