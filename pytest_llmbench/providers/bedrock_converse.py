"""``bedrock:<model id>``: AWS Bedrock Runtime ConverseStream through boto3.

boto3 is synchronous, so each call runs on a worker thread of this provider's
own pool (not the event loop) and takes its per-chunk timestamps there, where
the bytes arrive. Credentials come from the standard AWS chain; the region from
the ``region`` setting, ``AWS_REGION`` or ``AWS_DEFAULT_REGION``. Usage and the
server's ``latencyMs`` come from the final ``metadata`` event.
"""

from __future__ import annotations

import asyncio
import functools
import os
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import boto3
import botocore.session
from botocore.config import Config

from pytest_llmbench.config import ModelSpec
from pytest_llmbench.errors import PREVIEW_CHARS, ConfigError, ProtocolError, ProviderError
from pytest_llmbench.providers import clients, common, tool_calling
from pytest_llmbench.providers.base import ChatRequest, Completion
from pytest_llmbench.providers.errors_map import classify, content_filtered
from pytest_llmbench.redaction import remember_secret

_INFERENCE = {"max_tokens": "maxTokens", "max_completion_tokens": "maxTokens",
              "temperature": "temperature", "top_p": "topP", "stop": "stopSequences"}
_FILTERED = ("guardrail_intervened", "content_filtered")


def converse_args(model: str, messages: list[dict[str, Any]], params: dict[str, Any]) -> dict[str, Any]:
    """OpenAI-style messages and params -> ConverseStream keyword arguments."""
    system, turns = common.split_system(messages)
    inference: dict[str, Any] = {}
    extra: dict[str, Any] = {}
    for key, value in params.items():
        if key in _INFERENCE:
            inference[_INFERENCE[key]] = [value] if key == "stop" and isinstance(value, str) else value
        else:
            extra[key] = value
    kwargs: dict[str, Any] = {
        "modelId": model,
        "messages": [{"role": m["role"], "content": [{"text": str(m.get("content", ""))}]} for m in turns]}
    if system:
        kwargs["system"] = [{"text": system}]
    if inference:
        kwargs["inferenceConfig"] = inference
    if extra:
        kwargs["additionalModelRequestFields"] = extra
    return kwargs


class BedrockProvider:
    tool_calling = True

    def __init__(self, spec: ModelSpec, context: dict[str, Any]) -> None:
        self.spec = spec
        self.think_tags = common.think_tags(spec)
        settings = spec.settings
        session_args = {"profile_name": settings.get("profile"),
                        "aws_access_key_id": settings.get("aws_access_key_id"),
                        "aws_secret_access_key": settings.get("aws_secret_access_key"),
                        "aws_session_token": settings.get("aws_session_token")}
        for secret in (settings.get("aws_secret_access_key"), settings.get("aws_session_token"),
                       os.environ.get("AWS_BEARER_TOKEN_BEDROCK")):
            remember_secret(secret)
        session = _session(**session_args)
        region = (settings.get("region") or os.environ.get("AWS_REGION")
                  or os.environ.get("AWS_DEFAULT_REGION") or session.region_name)
        if not region:
            raise ConfigError(f"{spec.name}: set AWS_REGION (or region in llmbench.yaml)")
        if session.get_credentials() is None and not os.environ.get("AWS_BEARER_TOKEN_BEDROCK"):
            raise ProviderError("configure AWS credentials (AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, "
                                "AWS_PROFILE or a role; or AWS_BEARER_TOKEN_BEDROCK)",
                                model=spec.name, kind="auth", error_type="NoCredentialsError")
        options = {**session_args, "region": region, "endpoint_url": settings.get("endpoint_url"),
                   "workers": int(settings.get("max_connections", 64)),
                   "read_timeout": float(settings.get("timeout", 60)),
                   "connect_timeout": float(settings.get("connect_timeout", 10)),
                   "headers": common.headers(spec)}
        self._client_key = clients.client_key("bedrock", **options)
        self._shared: tuple[Any, ThreadPoolExecutor] = clients.acquire(
            self._client_key, lambda: _build(session, options))
        self.client, self._pool = self._shared

    @staticmethod
    def warm() -> None:
        """botocore's service model and endpoint data (~0.1 s), loaded before the first call."""
        session = _session(aws_access_key_id="warm-up", aws_secret_access_key="warm-up")
        _close(_build(session, {"region": "us-east-1", "endpoint_url": common.WARM_URL, "workers": 1,
                                "read_timeout": 1.0, "connect_timeout": 1.0, "headers": None}))

    async def complete(self, request: ChatRequest) -> Completion:
        if request.tools is not None:
            return await tool_calling.bedrock_tools_async(
                self.client, self.spec.api_model, self.spec.name, request, self._pool)
        kwargs = converse_args(self.spec.api_model, request.messages, dict(request.params))
        loop = asyncio.get_running_loop()
        completion = await loop.run_in_executor(self._pool, self._call, kwargs)
        completion_prompt = common.prompt_text(request.messages)
        if completion.tokens_estimated and completion.input_tokens is None:
            completion.input_tokens = common.estimate_tokens(completion_prompt)
        return completion

    def _call(self, kwargs: dict[str, Any]) -> Completion:
        """Runs on a pool thread: the whole stream, with timestamps taken as events arrive."""
        clock = common.StreamClock(think_tags=self.think_tags)
        usage: dict[str, Any] | None = None
        metrics: dict[str, Any] = {}
        stop: str | None = None
        events = 0
        finished = False
        last: Any = None
        try:
            response = self.client.converse_stream(**kwargs)
            _require_event_stream(response, self.spec.name)
            for event in response["stream"]:
                events, last = events + 1, event
                finished = finished or "messageStop" in event
                if "contentBlockDelta" in event:
                    delta = event["contentBlockDelta"].get("delta", {})
                    if delta.get("text"):
                        clock.token(delta["text"])
                    elif thought := (delta.get("reasoningContent") or {}).get("text"):
                        clock.reasoning(thought)
                elif "messageStop" in event:
                    stop = event["messageStop"].get("stopReason")
                elif "metadata" in event:
                    usage = dict(event["metadata"].get("usage") or {}) or None
                    metrics = dict(event["metadata"].get("metrics") or {})
        except Exception as exc:  # noqa: BLE001 - every SDK error becomes one classified line
            raise classify(exc, self.spec.name) from exc
        if not finished:  # an empty stream, events of another shape, or a stream cut off
            raise common.unfinished(self.spec.name, events, "messageStop event",
                                    None if last is None else repr(last))
        if stop in _FILTERED:
            raise content_filtered(self.spec.name, f"stopReason={stop}")
        raw = dict(usage or {})
        if "latencyMs" in metrics:
            raw["latencyMs"] = metrics["latencyMs"]
        return clock.finish(input_tokens=usage.get("inputTokens") if usage else None,
                            output_tokens=usage.get("outputTokens") if usage else None,
                            finish=stop, raw_usage=raw or None, prompt="")

    async def aclose(self) -> None:
        await clients.release(self._client_key, self._shared, _close)


_EVENT_STREAM = "application/vnd.amazon.eventstream"


def _require_event_stream(response: dict[str, Any], model: str) -> None:
    """A 200 that is not an AWS event stream (an HTML page, JSON) is a ProtocolError
    naming what came, not a checksum error from the frame parser."""
    headers = (response.get("ResponseMetadata") or {}).get("HTTPHeaders") or {}
    ctype = str(headers.get("content-type") or "")
    if _EVENT_STREAM in ctype.lower():
        return
    raw = getattr(response.get("stream"), "_raw_stream", None)
    try:
        body = raw.read(PREVIEW_CHARS * 4) if raw is not None else b""
    except Exception:  # noqa: BLE001 - the content type alone already says it is wrong
        body = b""
    raise ProtocolError(f"a streamed request was answered with {ctype or 'no content type'}, "
                        f"not {_EVENT_STREAM}", model=model, received=body)


@functools.cache
def _data_loader() -> Any:
    """The process's botocore data loader (it caches the parsed service models)."""
    return botocore.session.Session().get_component("data_loader")


def _session(**args: Any) -> boto3.session.Session:
    """A boto3 session sharing the process's data loader: a new session's own loader parses
    the service model again (~50 ms inside the first call)."""
    core = botocore.session.Session()
    core.register_component("data_loader", _data_loader())
    return boto3.session.Session(botocore_session=core, **args)


def _build(session: Any, options: dict[str, Any]) -> tuple[Any, ThreadPoolExecutor]:
    """A bedrock-runtime client making one attempt per call (retries are the engine's)
    and the thread pool its blocking calls run on."""
    workers = options["workers"]
    config = Config(retries={"total_max_attempts": 1, "mode": "standard"},
                    read_timeout=options["read_timeout"], connect_timeout=options["connect_timeout"],
                    max_pool_connections=workers)
    client = session.client("bedrock-runtime", region_name=options["region"], config=config,
                            endpoint_url=options["endpoint_url"])
    extra = options["headers"]
    if extra:
        def add_headers(request: Any, **_: Any) -> None:
            for key, value in extra.items():
                request.headers[key] = value
        client.meta.events.register("before-sign.bedrock-runtime.*", add_headers)
    return client, ThreadPoolExecutor(max_workers=workers, thread_name_prefix="llmbench-bedrock")


def _close(shared: tuple[Any, ThreadPoolExecutor]) -> None:
    client, pool = shared
    pool.shutdown(wait=False, cancel_futures=True)
    client.close()
