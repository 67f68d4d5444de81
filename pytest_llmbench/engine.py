"""The request engine: one asyncio loop on a background thread per process.

Tests stay synchronous and isolated for pytest while the engine keeps up to
``concurrency`` model calls in flight underneath, so prefetched requests of
upcoming items overlap. Latency is measured by providers per request, never
as test duration.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
from collections.abc import Sequence
from typing import Any

from pytest_llmbench.errors import CallTimeout, LLMBenchError, ProviderError
from pytest_llmbench.providers.base import ChatRequest, Completion, Provider, get_factory

Future = concurrent.futures.Future


class Engine:
    def __init__(self, concurrency: int = 8, timeout: float = 120.0,
                 context: dict[str, Any] | None = None) -> None:
        self.concurrency = concurrency
        self.timeout = timeout
        self.context = context or {}
        self._providers: dict[str, Provider] = {}
        self._failed: dict[str, LLMBenchError] = {}
        self._loop = asyncio.new_event_loop()
        self._semaphore: asyncio.Semaphore | None = None
        self._thread = threading.Thread(target=self._loop.run_forever, name="llmbench-engine",
                                        daemon=True)
        self._thread.start()
        self._closed = False

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
        for request, future in batch:
            if future.set_running_or_notify_cancel():
                task = self._loop.create_task(self._run(request))
                task.add_done_callback(lambda t, f=future: _settle(t, f))

    async def _run(self, request: ChatRequest) -> Completion:
        assert self._semaphore is not None
        async with self._semaphore:
            provider = self._provider(request)
            try:
                async with asyncio.timeout(self.timeout):
                    return await provider.complete(request)
            except TimeoutError:
                raise CallTimeout(f"no answer within {self.timeout:g}s (--llmbench-timeout)",
                                  model=request.model.name) from None
            except LLMBenchError:
                raise
            except Exception as exc:  # a provider bug or an SDK error it did not classify
                raise ProviderError(str(exc) or repr(exc), model=request.model.name,
                                    error_type=type(exc).__name__) from exc

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

        try:
            asyncio.run_coroutine_threadsafe(shutdown(), self._loop).result(timeout=10)
        except Exception:  # noqa: BLE001
            pass
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)


def _settle(task: asyncio.Task[Completion], future: Future[Completion]) -> None:
    if task.cancelled():
        future.cancel()
    elif task.exception() is not None:
        future.set_exception(task.exception())  # type: ignore[arg-type]
    else:
        future.set_result(task.result())
