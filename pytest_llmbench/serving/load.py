"""The load generator: drive one scenario point through a provider on one event loop.

Concurrency points are closed loop (N coroutines, each sends its next request
as soon as the last one ends); rate points are open loop (arrivals follow a
fixed schedule, constant or Poisson from a seed of the suite, model and
point, so a slow server never slows the schedule and every process draws the
same arrivals). Warm-up requests run first and are left out of the figures.
Providers are called once per request (no retries: a failure is a failed
request) and measure TTFT, chunk gaps and E2E themselves.
"""

from __future__ import annotations

import asyncio
import hashlib
import itertools
import random
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from pytest_llmbench.config import ModelSpec
from pytest_llmbench.providers.base import ChatRequest, Provider, get_factory
from pytest_llmbench.providers.hosts import HOSTS
from pytest_llmbench.providers.openai_wire import OpenAIWireProvider
from pytest_llmbench.serving.metrics import RequestSample, Window
from pytest_llmbench.serving.monitor import HarnessMonitor, monitored_loop
from pytest_llmbench.serving.scenario import Point, ServingSuite

_WORDS = ("alpha bravo charlie delta echo foxtrot golf hotel india juliet kilo lima mike "
          "november oscar papa quebec romeo sierra tango uniform victor whiskey xray yankee "
          "zulu").split()
_NO_IGNORE_EOS = {"anthropic", "bedrock", "vertex", "inproc"}


@dataclass
class PointResult:
    window: Window
    warmup: int
    harness: dict[str, Any] = field(default_factory=dict)
    started_at: float | None = None  # the measured window's unix start (warm-up left out)


def point_seed(suite: ServingSuite, model: str, point: Point) -> int:
    """A seed that depends on the suite's seed, the model and the point only, so every
    xdist worker that runs the point draws the same prompts and arrivals."""
    text = f"{suite.seed}/{suite.name}/{model}/{point.id}".encode()
    return int.from_bytes(hashlib.sha256(text).digest()[:8], "big")


def prompts_for(suite: ServingSuite, count: int, rng: random.Random) -> list[list[dict[str, str]]]:
    """``count`` chat message lists: dataset rows in turn, or synthetic prompts whose
    lengths follow ``input_tokens`` (one word is one token on the simulator)."""
    out: list[list[dict[str, str]]] = []
    rows = suite.prompts.rows
    for index in range(count):
        if rows:
            row = rows[index % len(rows)]
            out.append(list(row) if isinstance(row, list) else [{"role": "user", "content": row}])
            continue
        assert suite.prompts.input_tokens is not None
        length = max(1, round(suite.prompts.input_tokens.sample(rng)))
        words = [f"r{index}"] + [rng.choice(_WORDS) for _ in range(length - 1)]
        out.append([{"role": "user", "content": " ".join(words)}])
    return out


def request_params(spec: ModelSpec, suite: ServingSuite) -> dict[str, Any]:
    """max_tokens and ignore_eos in the form the provider sends: the simulator and
    raw-HTTP providers take ``ignore_eos`` in the body, OpenAI SDK hosts through
    ``extra_body``; Anthropic and Bedrock have no such switch."""
    params = dict(suite.params)
    if suite.max_tokens is not None:
        params["max_tokens"] = suite.max_tokens
    if suite.ignore_eos:
        if spec.provider == "sim":
            params["ignore_eos"] = True
        elif spec.provider not in _NO_IGNORE_EOS:
            params["extra_body"] = {**params.get("extra_body", {}), "ignore_eos": True}
    return params


class LoadRunner:
    """Runs the points of one model, each on a fresh event loop in the calling thread.

    ``part`` = (index, count) makes it one of ``count`` processes sharing a point
    (``serving.split``): it sends every count-th prompt or arrival of the point's one
    seeded schedule from ``index`` on, with its share of the concurrency."""

    def __init__(self, spec: ModelSpec, context: dict[str, Any], timeout: float = 120.0,
                 part: tuple[int, int] = (0, 1)) -> None:
        self.spec, self.context, self.timeout, self.part = spec, context, timeout, part

    def run(self, suite: ServingSuite, point: Point) -> PointResult:
        with asyncio.Runner(loop_factory=monitored_loop) as runner:  # lag read for free
            return runner.run(self._run(suite, point))

    async def _run(self, suite: ServingSuite, point: Point) -> PointResult:
        provider = self._provider(suite, point)
        seed = point_seed(suite, self.spec.name, point)
        rng = random.Random(seed)
        params = request_params(self.spec, suite)
        planned = point.requests or _estimate(point)
        prompts = prompts_for(suite, point.warmup + planned, rng)
        warm = self._share(prompts[:point.warmup])
        try:
            if warm:
                width = min(len(warm), self._width(point.concurrency or point.max_concurrency or 8))
                await self._closed_loop(provider, warm, params, width, None)
            await self.until_start()
            monitor = HarnessMonitor()
            async with monitor:
                start, started_at = time.perf_counter(), time.time()
                todo = prompts[point.warmup:]
                deadline = start + point.duration_s if point.duration_s else None
                if point.concurrency is not None:
                    samples = await self._closed_loop(provider, self._share(todo), params,
                                                      self._width(point.concurrency), deadline,
                                                      start,
                                                      limited=point.requests is not None)
                else:
                    samples = await self._open_loop(provider, todo, params, point,
                                                    random.Random(seed + 1), start, deadline)
                duration = time.perf_counter() - start
        finally:
            await provider.aclose()
        return PointResult(Window(samples, duration), point.warmup,
                           monitor.report(suite.harness), started_at)

    def _provider(self, suite: ServingSuite, point: Point) -> Provider:
        """The provider that sends the load: OpenAI-chat hosts are read with plain httpx
        (``client: raw``, the default) rather than the SDK, whose per-chunk objects cost
        client CPU that shows up as TTFT under load; its pool fits the point."""
        if suite.client == "raw" and self.spec.provider in HOSTS:
            width = point.concurrency or point.max_concurrency
            return OpenAIWireProvider(self.spec, self._width(width) if width else None)
        return get_factory(self.spec.provider)(self.spec, self.context)

    async def until_start(self) -> None:
        """Called between warm-up and the measured window; a split point's child waits
        here for the common start."""

    def _share(self, items: list[Any]) -> list[Any]:
        index, count = self.part
        return items[index::count]

    def _width(self, total: int) -> int:
        """This process's share of a concurrency (as even as can be)."""
        index, count = self.part
        return total // count + (index < total % count)

    async def _one(self, provider: Provider, messages: list[dict[str, str]],
                   params: dict[str, Any], start: float, wait: float = 0.0) -> RequestSample:
        sent = time.perf_counter() - start
        request = ChatRequest(model=self.spec, messages=messages, params=params)
        try:
            async with asyncio.timeout(self.timeout):
                c = await provider.complete(request)
        except Exception as exc:  # noqa: BLE001 - a failed request is a figure, not a crash
            return RequestSample(sent=sent, ok=False, wait=wait,
                                 error=f"{type(exc).__name__}: {exc}"[:200])
        itl = list(c.itl_s)
        return RequestSample(sent=sent, ttft=c.ttft_s, e2e=c.latency_s, itl=itl,
                             input_tokens=c.input_tokens or 0,
                             output_tokens=c.output_tokens or (len(itl) + 1 if c.text else 0),
                             wait=wait, ok=c.latency_s is not None)

    async def _closed_loop(self, provider: Provider, prompts: list[list[dict[str, str]]],
                           params: dict[str, Any], width: int, deadline: float | None,
                           start: float | None = None, limited: bool = True
                           ) -> list[RequestSample]:
        origin = time.perf_counter() if start is None else start
        # a duration-only point reuses its prompts in turn until the deadline
        queue = iter(prompts) if deadline is None or limited else itertools.cycle(prompts)
        samples: list[RequestSample] = []

        async def user() -> None:
            for messages in queue:
                if deadline is not None and time.perf_counter() >= deadline:
                    return
                samples.append(await self._one(provider, messages, params, origin))

        await asyncio.gather(*(user() for _ in range(width)))
        return samples

    async def _open_loop(self, provider: Provider, prompts: list[list[dict[str, str]]],
                         params: dict[str, Any], point: Point, rng: random.Random,
                         start: float, deadline: float | None) -> list[RequestSample]:
        assert point.rate is not None
        cap = point.max_concurrency
        slots = asyncio.Semaphore(self._width(cap)) if cap else None
        tasks: list[asyncio.Task[RequestSample]] = []

        async def arrive(messages: list[dict[str, str]], due: float) -> RequestSample:
            if slots is None:
                return await self._one(provider, messages, params, start)
            async with slots:
                wait = max(0.0, time.perf_counter() - start - due)
                return await self._one(provider, messages, params, start, wait)

        for index, at in itertools.islice(enumerate(arrivals(point, rng)), self.part[0], None,
                                          self.part[1]):
            if deadline is not None and start + at >= deadline:
                break
            delay = start + at - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(arrive(prompts[index % len(prompts)], at)))
        return list(await asyncio.gather(*tasks))


def arrivals(point: Point, rng: random.Random) -> Iterator[float]:
    """Send times (s after the window starts) of a rate point: the first at 0, then gaps
    of 1/rate (constant) or exponential gaps of mean 1/rate (Poisson) drawn from ``rng``;
    ``point.requests`` of them, or without end for a duration point."""
    assert point.rate is not None
    at, index = 0.0, 0
    while point.requests is None or index < point.requests:
        yield at
        index += 1
        at += rng.expovariate(point.rate) if point.arrival == "poisson" else 1.0 / point.rate


def _estimate(point: Point) -> int:
    """Prompts to prepare for a duration-only point (reused in turn if it runs longer)."""
    if point.rate is not None and point.duration_s:
        return max(1, int(point.rate * point.duration_s * 1.5) + 1)
    return max(1, (point.concurrency or 1) * 4)
