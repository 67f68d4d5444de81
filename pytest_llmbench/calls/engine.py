"""The request engine: one asyncio loop on a background thread per process.

Tests stay synchronous and isolated for pytest while the engine keeps up to
``concurrency`` model calls in flight underneath, so prefetched requests of
upcoming items overlap. Latency is measured by providers per request, never
as test duration.

Every call goes through the same loop of attempts: wait for the rate limiter,
call the provider under the per-attempt timeout, and on a transient failure
wait (``retry-after`` or backoff, with the concurrency slot released) and try
again, as :mod:`pytest_llmbench.calls.retry` decides.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import functools
import logging
import threading
from collections import deque
from collections.abc import Sequence
from typing import Any

from pytest_llmbench.calls.layers import layers_from_context
from pytest_llmbench.calls.pricing import call_cost
from pytest_llmbench.calls.ratelimit import Limiter, RateLimits
from pytest_llmbench.calls.retry import RetryPolicy
from pytest_llmbench.errors import CallTimeout, ConfigError, LLMBenchError, ProviderError
from pytest_llmbench.providers.base import ChatRequest, Completion, Provider, get_factory
from pytest_llmbench.providers.common import estimate_tokens, prompt_text

Future = concurrent.futures.Future
LIMITS_DIR = "limits_dir"
"""Context key: the rate limiters' folder, made by the controller, shared by workers."""


log = logging.getLogger(__name__)


def _case(request: ChatRequest) -> str:
    meta = request.metadata
    return f"{meta.get('suite', '')}/{meta.get('case_id', '')}" if meta.get("case_id") else "-"


def _secs(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3f}s"


class Engine:
    def __init__(self, concurrency: int = 8, timeout: float = 120.0,
                 context: dict[str, Any] | None = None, retry: RetryPolicy | None = None,
                 limits: RateLimits | None = None) -> None:
        self.concurrency = concurrency
        self.timeout = timeout
        self.context = context or {}
        self.retry = retry or RetryPolicy()
        self.limits = limits or RateLimits(folder=self.context.get(LIMITS_DIR))
        self._policies: dict[str, RetryPolicy] = {}
        self._providers: dict[str, Provider] = {}
        self._failed: dict[str, LLMBenchError] = {}
        self._loop = asyncio.new_event_loop()
        self._semaphore: asyncio.Semaphore | None = None
        self._queue: deque[tuple[ChatRequest, Future[Completion]]] = deque()
        self._active = 0
        self._max_active = 4 * concurrency
        self._thread = threading.Thread(target=self._loop.run_forever, name="llmbench-engine",
                                        daemon=True)
        self._thread.start()
        self._closed = False
        self.responses, self.budget = layers_from_context(self.context)

    def submit(self, request: ChatRequest) -> Future[Completion]:
        return self.submit_many([request])[0]

    def submit_many(self, requests: Sequence[ChatRequest]) -> list[Future[Completion]]:
        """Start many calls with one thread hop; each result arrives on its own future."""
        futures: list[Future[Completion]] = [Future() for _ in requests]
        if requests:
            self._loop.call_soon_threadsafe(self._start, list(zip(requests, futures, strict=True)))
        return futures

    def call(self, request: ChatRequest) -> Completion:
        return self.submit(request).result()

    async def acall(self, request: ChatRequest) -> Completion:
        return await asyncio.wrap_future(self.submit(request))

    def _start(self, batch: list[tuple[ChatRequest, Future[Completion]]]) -> None:
        if self._semaphore is None:
            self._semaphore = asyncio.Semaphore(self.concurrency)
        self._queue.extend(batch)
        self._dispatch()

    def _dispatch(self) -> None:
        """Start queued calls while fewer than 4 x concurrency are started. Callers may
        submit far ahead in one cheap hop; only started calls book budget and wait for a
        concurrency slot (released during a retry's backoff), and a queued one can still
        be cancelled."""
        while self._queue and self._active < self._max_active:
            request, future = self._queue.popleft()
            if future.set_running_or_notify_cancel():
                self._active += 1
                task = self._loop.create_task(self._run(request))
                task.add_done_callback(functools.partial(self._finished, future=future))

    def _finished(self, task: asyncio.Task[Completion], *, future: Future[Completion]) -> None:
        self._active -= 1
        _settle(task, future)
        self._dispatch()

    async def _run(self, request: ChatRequest) -> Completion:
        """A stored answer (cache, replay), else a call within the budget, stored after."""
        stored = self.responses.lookup(request) if self.responses is not None else None
        if stored is not None:
            return stored
        booking = await self.budget.reserve(request) if self.budget is not None else None
        completion: Completion | None = None
        try:
            completion = await self._run_call(request)
        finally:
            if self.budget is not None and booking is not None:
                self.budget.settle(booking, request, completion)
        if self.responses is not None:
            self.responses.store(request, completion)
        return completion

    async def _run_call(self, request: ChatRequest) -> Completion:
        provider = self._provider(request)
        name = request.model.name
        policy = self._policies.get(name)
        if policy is None:
            policy = self._policies[name] = self.retry.for_model(request.model)
        limiter = self.limits.for_model(request.model)
        attempt = 0
        while True:
            attempt += 1
            try:
                completion = await self._attempt(provider, request, limiter)
            except ProviderError as error:
                error.attempts = attempt
                delay = policy.delay(error, attempt)
                log.debug("call %s %s attempt %d: %s %s", name, _case(request), attempt,
                          error.kind, error.error_type)
                if delay is None:
                    raise
                log.debug("retry %s %s in %.2fs (after attempt %d, %s)", name, _case(request),
                          delay, attempt, error.kind)
                await asyncio.sleep(delay)
                continue
            completion.attempts = attempt
            completion.cost_usd = call_cost(request.model, completion)
            log.debug("call %s %s attempt %d: ok latency=%s ttft=%s in=%s out=%s", name,
                      _case(request), attempt, _secs(completion.latency_s),
                      _secs(completion.ttft_s), completion.input_tokens,
                      completion.output_tokens)
            return completion

    async def _attempt(self, provider: Provider, request: ChatRequest,
                       limiter: Limiter | None) -> Completion:
        """One request: a concurrency slot, the rate limiter's turn, the call. A 429 throttles
        the shared budget before the slot is given to the next call."""
        assert self._semaphore is not None
        async with self._semaphore:
            reserved = 0
            if limiter is not None:
                reserved = await limiter.acquire(request.messages, request.params)
            try:
                completion = await self._call(provider, request)
            except ProviderError as error:
                if limiter is not None and error.kind == "rate_limited":
                    await limiter.throttled(error.retry_after)
                raise
        if limiter is not None:
            await limiter.settle(reserved, completion.input_tokens, completion.output_tokens)
        return completion

    async def _call(self, provider: Provider, request: ChatRequest) -> Completion:
        """The provider's call under the per-attempt timeout; every failure a ProviderError."""
        if request.tools is not None and not getattr(provider, "tool_calling", False):
            raise ConfigError(f"{request.model.name}: its provider does not do native tool "
                              "calling (agent tasks need openai-compatible, anthropic, "
                              "bedrock or sim models)")
        try:
            async with asyncio.timeout(self.timeout):
                completion = await provider.complete(request)
        except TimeoutError:
            raise CallTimeout(f"no answer within {self.timeout:g}s (--llmbench-timeout)",
                              model=request.model.name) from None
        except LLMBenchError:
            raise
        except Exception as exc:  # a provider bug or an SDK error it did not classify
            raise ProviderError(str(exc) or repr(exc), model=request.model.name,
                                error_type=type(exc).__name__) from exc
        _estimate_missing_tokens(completion, request)
        missing = missing_metrics(completion)
        if missing:
            raise ProviderError(f"the completion lacks {', '.join(missing)}",
                                model=request.model.name, kind="missing_metric",
                                error_type="MissingMetric")
        return completion

    def _provider(self, request: ChatRequest) -> Provider:
        key = request.model.name
        provider = self._providers.get(key)
        if provider is None:
            if key in self._failed:  # construction failed once (e.g. a missing API key): same line
                raise self._failed[key]
            try:
                provider = get_factory(request.model.provider)(request.model, self.context)
            except LLMBenchError as exc:
                self._failed[key] = exc
                raise
            self._providers[key] = provider
        return provider

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True

        async def shutdown() -> None:
            for provider in self._providers.values():
                try:
                    await provider.aclose()
                except Exception:  # noqa: BLE001 - closing must not mask the run's outcome
                    pass
            await self._loop.shutdown_asyncgens()

        try:
            asyncio.run_coroutine_threadsafe(shutdown(), self._loop).result(timeout=10)
        except Exception:  # noqa: BLE001
            pass
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)
        self.limits.close()


def _estimate_missing_tokens(completion: Completion, request: ChatRequest) -> None:
    """Token counts a provider could not give are estimated, and marked so."""
    if completion.input_tokens is None:
        completion.input_tokens = estimate_tokens(prompt_text(request.messages))
        completion.tokens_estimated = True
    if completion.output_tokens is None:
        completion.output_tokens = estimate_tokens(completion.text)
        completion.tokens_estimated = True


def missing_metrics(completion: Completion) -> list[str]:
    """Timings a provider left out (they cannot be estimated after the fact): E2E latency
    always, TTFT whenever anything was generated. Summaries must never average over gaps."""
    missing = [] if completion.latency_s is not None else ["latency_s"]
    if completion.ttft_s is None and (completion.text or getattr(completion, "reasoning", None)):
        missing.append("ttft_s")
    return missing


def _settle(task: asyncio.Task[Completion], future: Future[Completion]) -> None:
    if task.cancelled():
        future.cancel()
    elif task.exception() is not None:
        future.set_exception(task.exception())
    else:
        future.set_result(task.result())
