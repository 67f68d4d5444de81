"""OpenAI Batch (``openai:`` models, and ``sim:`` ones on the simulator): a JSONL file
uploaded through the Files API, a batch over ``/v1/chat/completions``, its output
and error files read back line by line (a broken line costs only its own request).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import openai

from pytest_llmbench.config import ModelSpec
from pytest_llmbench.errors import ConfigError, ProviderError
from pytest_llmbench.providers import common
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
from pytest_llmbench.providers.errors_map import classify
from pytest_llmbench.providers.hosts import base_url_for

ENDPOINT = "/v1/chat/completions"
NOT_RUN = {"batch_expired": "expired", "batch_cancelled": "cancelled"}
_STATES = {"validating": "validating", "in_progress": "in_progress",
           "finalizing": "finalizing", "cancelling": "cancelling"}


class OpenAIBatch:
    max_requests = 50_000
    max_bytes = 200 * 1024 * 1024

    def __init__(self, spec: ModelSpec, context: dict[str, Any]) -> None:
        self.spec = spec
        settings = spec.settings
        if spec.provider == "sim":
            base = settings.get("base_url") or context.get("sim_url")
            if not base:
                raise ConfigError(f"{spec.name}: no simulator running (set settings.base_url)")
            base_url: str | None = str(base).rstrip("/") + "/v1"
            key = "sim"
        else:
            base_url = base_url_for("openai", settings)
            key = common.api_key(spec, "OPENAI_API_KEY", required=True)
        self.max_requests = int(settings.get("batch_max_requests", self.max_requests))
        self.max_bytes = int(settings.get("batch_max_bytes", self.max_bytes))
        self.client = openai.OpenAI(api_key=key, base_url=base_url, max_retries=3,
                                    default_headers=common.headers(spec))

    def line(self, request: ChatRequest, custom_id: str) -> bytes:
        body = {"model": self.spec.api_model, "messages": request.messages, **request.params}
        meta = request.metadata
        if self.spec.provider == "sim" and "case_id" in meta:  # the simulator's answer key
            body["metadata"] = {"llmbench_case": f"{meta.get('suite', '')}/{meta['case_id']}",
                                "llmbench_sample": str(meta.get("sample") or 0)}
        return dumps({"custom_id": custom_id, "method": "POST", "url": ENDPOINT, "body": body})

    def submit(self, lines: Sequence[bytes], name: str) -> str:
        data = b"\n".join(lines) + b"\n"
        try:
            upload = self.client.files.create(file=(f"{name}.jsonl", data), purpose="batch")
            batch = self.client.batches.create(input_file_id=upload.id,
                                               endpoint="/v1/chat/completions",
                                               completion_window="24h",
                                               metadata={"llmbench": name[:512]})
        except Exception as exc:  # noqa: BLE001 - one classified line
            raise classify(exc, self.spec.name) from exc
        return batch.id

    def status(self, batch_id: str) -> BatchStatus:
        try:
            batch = self.client.batches.retrieve(batch_id)
        except Exception as exc:  # noqa: BLE001
            raise classify(exc, self.spec.name) from exc
        counts = batch.request_counts
        state = _STATES.get(batch.status, "ended")
        message = None
        if batch.status == "failed":
            errors = [e.message for e in (batch.errors.data if batch.errors else None) or []
                      if e.message]
            message = "; ".join(errors) or "the batch failed"
        elif batch.status in ("expired", "cancelled"):
            message = f"the batch was {batch.status}"
        return BatchStatus(state, batch.status, total=counts.total if counts else 0,
                           done=counts.completed if counts else 0,
                           failed=counts.failed if counts else 0,
                           expires_at=float(batch.expires_at) if batch.expires_at else None,
                           message=message,
                           extra={"output_file_id": batch.output_file_id,
                                  "error_file_id": batch.error_file_id})

    def results(self, batch_id: str, status: BatchStatus) -> BatchResults:
        out = BatchResults(missing_reason=status.message)
        for key in ("output_file_id", "error_file_id"):
            file_id = status.extra.get(key)
            if not file_id:
                continue
            try:
                data = self.client.files.content(file_id).read()
            except Exception as exc:  # noqa: BLE001 - the file is gone: its requests are missing
                out.missing_reason = f"{key} {file_id} could not be read: {classify(exc, '')}"
                continue
            read_result_lines(data, out, self.spec.name, "custom_id", self._answer)
        return out

    def _answer(self, line: dict[str, Any]) -> Completion | ProviderError:
        model = self.spec.name
        error = line.get("error")
        response = line.get("response")
        if error:
            if not isinstance(error, dict):
                raise malformed(model, f"error {error!r}")
            name = str(error.get("code") or "BatchError")
            return ProviderError(str(error.get("message") or name), model=model,
                                 kind=NOT_RUN.get(name, "other"), error_type=name)
        if not isinstance(response, dict):
            raise malformed(model, "no response")
        body: Any = response.get("body")
        code: Any = response.get("status_code")
        if code != 200 or not isinstance(body, dict):
            detail = body.get("error") if isinstance(body, dict) else None
            detail = detail if isinstance(detail, dict) else {}
            return status_error(model, code, str(detail.get("type") or f"HTTP{code}"),
                                str(detail.get("message") or body))
        choice = body["choices"][0]
        message = choice["message"]
        usage = body.get("usage") or {}
        thought = message.get("reasoning_content") or message.get("reasoning")
        details = usage.get("completion_tokens_details") or {}
        result = completion(message.get("content") or "", usage.get("prompt_tokens"),
                            usage.get("completion_tokens"), choice.get("finish_reason"),
                            usage, model, reasoning=thought if isinstance(thought, str) else None)
        result.reasoning_tokens = details.get("reasoning_tokens") if isinstance(
            details, dict) else None
        return result

    def cancel(self, batch_id: str) -> None:
        self.client.batches.cancel(batch_id)
