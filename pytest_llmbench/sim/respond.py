"""Deliver a ``Plan`` on the wire: the timing loop shared by every provider.

Each provider supplies a ``Wire`` (how its bytes look); this module decides
when they leave. Every token's deadline is computed from one start time
(``t0 + offset``), never by sleeping ITL after the previous send, so the
server's own overhead and timer slack do not add up along a stream; the
per-token work is one sleep, one bytes concatenation and one ``send``.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any, Protocol

from pytest_llmbench.sim.config import PRE_STREAM_FAULTS
from pytest_llmbench.sim.state import Plan, SimError, SimState

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
Headers = list[tuple[bytes, bytes]]

# asyncio (epoll) and uvloop (libuv) timers fire in whole milliseconds, up to 1 ms
# after the deadline; waking half a millisecond early centres send times on it
TIMER_LEAD_S = 0.0005

ARRIVAL_KEY = "llmbench.arrival"
TRANSPORT_KEY = "llmbench.transport"
WATCH_DISCONNECT_AFTER_S = 0.5

FAULT_MESSAGES = {
    "auth": "invalid API key (injected fault)",
    "not_found": "model not found (injected fault)",
    "bad_request": "malformed request (injected fault)",
    "rate_limit": "rate limit reached (injected fault); please retry after a while",
    "server_error": "the server had an error processing the request (injected fault)",
    "unavailable": "the service is temporarily unavailable (injected fault)",
    "overloaded": "the model is overloaded (injected fault)",
}


class SimulatedDrop(Exception):
    """Raised inside a response to make the server cut the connection."""


async def drop_connection(scope: Scope, why: str) -> None:
    """Close the client's connection now, with no further bytes.

    With the transport from our uvicorn protocol the socket is simply closed;
    on another ASGI server the fallback is raising, which closes a started
    response (or becomes a 500 before one).
    """
    transport = scope.get(TRANSPORT_KEY)
    if transport is None:
        raise SimulatedDrop(why)
    transport.close()
    # let the server see the connection go before the app returns, so it neither
    # answers 500 nor logs an unfinished response
    for _ in range(3):
        await asyncio.sleep(0)


class DropLogFilter(logging.Filter):
    """Keeps uvicorn from logging a traceback for every deliberate drop."""

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        return not isinstance(exc, SimulatedDrop)


class Wire(Protocol):
    """One provider's byte formats for one request."""

    stream_content_type: bytes

    def headers(self) -> Headers: ...
    def complete(self, plan: Plan, latency_s: float) -> bytes: ...
    def head(self, plan: Plan) -> bytes: ...
    def first(self, plan: Plan) -> bytes: ...
    def token(self, piece: str) -> bytes: ...
    def reasoning(self, piece: str) -> bytes: ...
    def switch(self, plan: Plan) -> bytes: ...
    def tail(self, plan: Plan, latency_s: float) -> list[bytes]: ...
    def stream_error(self, plan: Plan) -> bytes: ...
    def error(self, err: SimError, retry_after_s: float) -> tuple[int, Headers, bytes]: ...


def arrival_time(scope: Scope) -> float:
    """When the request reached the server (``time.monotonic``), as early as known."""
    stamp = scope.get(ARRIVAL_KEY)
    return stamp if isinstance(stamp, float) else time.monotonic()


def wall_time(monotonic_stamp: float) -> float:
    """A ``time.monotonic`` stamp as Unix time, for /metrics readers in other processes."""
    return round(time.time() - (time.monotonic() - monotonic_stamp), 6)


async def send_bytes(send: Send, status: int, headers: Headers, body: bytes) -> None:
    headers = [*headers, (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body, "more_body": False})


class PlanResponse:
    """An ASGI response that plays a plan: queue, wait, stream or answer, inject faults."""

    def __init__(self, state: SimState, plan: Plan, wire: Wire, route: str, arrival: float) -> None:
        self.state = state
        self.plan = plan
        self.wire = wire
        self.route = route
        self.arrival = arrival
        self.sent_tokens = 0
        self.status = 200

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        self.scope = scope
        plan, metrics = self.plan, self.state.metrics
        model = plan.profile.name
        fault = plan.fault
        metrics.tokens_in[model] += plan.request.input_tokens
        if fault is not None:
            metrics.faults[(model, fault)] += 1
        try:
            if fault in PRE_STREAM_FAULTS:
                await self._error(send, SimError(fault, FAULT_MESSAGES[fault]))
                return
            gate = self.state.gate(plan.profile)
            if gate.would_overflow():
                await self._error(send, SimError("overloaded", "too many queued requests"))
                return
            t0 = self.arrival
            if gate.full or gate.waiting:
                metrics.queued[model] += 1
                try:
                    await gate.enter()
                finally:
                    metrics.queued[model] -= 1
                t0 = max(t0, time.monotonic())
            else:
                await gate.enter()
            metrics.in_flight[model] += 1
            try:
                if plan.request.stream:
                    await self._stream(receive, send, t0)
                else:
                    await self._complete(receive, send, t0)
            finally:
                metrics.in_flight[model] -= 1
                gate.leave()
        finally:
            metrics.tokens_out[model] += self.sent_tokens
            metrics.request_done(self.route, model, self.status)
            metrics.recent.append(self._summary())

    async def _error(self, send: Send, err: SimError) -> None:
        status, headers, body = self.wire.error(err, self.plan.profile.retry_after_s)
        self.status = status
        await send_bytes(send, status, headers, body)

    async def _complete(self, receive: Receive, send: Send, t0: float) -> None:
        plan = self.plan
        fault = plan.fault
        if fault == "stream_error":
            await _sleep_until(t0 + plan.ttft)
            await self._error(send, SimError("server_error", FAULT_MESSAGES["server_error"]))
            return
        if fault == "stall":
            await _wait_disconnect(receive, plan.profile.stall_s)
            await drop_connection(self.scope, "stall ended")
            return
        if fault == "drop":
            # the connection goes away before any response: "server disconnected"
            await _sleep_until(t0 + plan.ttft)
            await drop_connection(self.scope, "connection dropped")
            return
        await _sleep_until(t0 + plan.duration)
        body = self.wire.complete(plan, time.monotonic() - self.arrival)
        headers = [*self.wire.headers(), (b"content-type", b"application/json"),
                   (b"content-length", str(len(body)).encode())]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        self.sent_tokens = plan.output_tokens
        await send({"type": "http.response.body", "body": body, "more_body": False})

    async def _stream(self, receive: Receive, send: Send, t0: float) -> None:
        plan, wire = self.plan, self.wire
        headers = [*wire.headers(), (b"content-type", wire.stream_content_type),
                   (b"cache-control", b"no-cache")]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        head = wire.head(plan)
        if head:
            await send({"type": "http.response.body", "body": head, "more_body": True})
        gone = _DisconnectWatch(receive) if plan.duration > WATCH_DISCONNECT_AFTER_S else None
        try:
            await self._tokens(receive, send, t0, gone)
        finally:
            if gone is not None:
                gone.cancel()

    async def _tokens(self, receive: Receive, send: Send, t0: float,
                      gone: _DisconnectWatch | None) -> None:
        plan, wire = self.plan, self.wire
        pieces, offsets = plan.pieces, plan.offsets
        mid_fault = plan.fault in ("stream_error", "drop", "stall")
        stop = plan.fault_after if mid_fault else len(pieces)
        monotonic, sleep, token = time.monotonic, asyncio.sleep, wire.token
        thinking = plan.reasoning
        start = t0 - TIMER_LEAD_S
        for i in range(stop):
            delay = start + offsets[i] - monotonic()
            if delay > 0:
                await sleep(delay)
            if gone is not None and gone.disconnected:
                return
            if i < thinking:
                data = wire.reasoning(pieces[i])
            elif i == thinking and i:  # the first answer token after the thinking
                data = wire.switch(plan) + token(pieces[i])
            else:
                data = token(pieces[i])
            if i == 0:
                data = wire.first(plan) + data
            await send({"type": "http.response.body", "body": data, "more_body": True})
            self.sent_tokens = i + 1
        if mid_fault:
            await self._mid_stream_fault(receive, send, t0, stop, gone)
            return
        if not pieces:
            await _sleep_until(t0 + plan.ttft)
            first = wire.first(plan)
            if first:
                await send({"type": "http.response.body", "body": first, "more_body": True})
        tail = wire.tail(plan, time.monotonic() - self.arrival)
        for chunk in tail[:-1]:
            await send({"type": "http.response.body", "body": chunk, "more_body": True})
        await send({"type": "http.response.body", "body": tail[-1] if tail else b"",
                    "more_body": False})

    async def _mid_stream_fault(self, receive: Receive, send: Send, t0: float, sent: int,
                                gone: _DisconnectWatch | None) -> None:
        plan = self.plan
        if sent == 0:
            await _sleep_until(t0 + plan.ttft)
        if plan.fault == "stream_error":
            await send({"type": "http.response.body", "body": self.wire.stream_error(plan),
                        "more_body": False})
            return
        if plan.fault == "stall":
            if gone is not None:
                await gone.wait(plan.profile.stall_s)
            else:
                await _wait_disconnect(receive, plan.profile.stall_s)
        await drop_connection(self.scope, f"{plan.fault} after {sent} tokens")

    def _summary(self) -> dict[str, Any]:
        plan, req = self.plan, self.plan.request
        return {
            "at": wall_time(self.arrival),
            "route": self.route, "model": req.model, "status": self.status, "stream": req.stream,
            "case_id": req.case_id, "max_tokens": req.max_tokens,
            "input_tokens": req.input_tokens, "output_tokens": self.sent_tokens,
            "fault": plan.fault, "right": plan.right, "request_id": plan.request_id,
        }


class _DisconnectWatch:
    """Notices a client that went away so a long stream stops early."""

    def __init__(self, receive: Receive) -> None:
        self.disconnected = False
        self._task = asyncio.ensure_future(self._watch(receive))

    async def _watch(self, receive: Receive) -> None:
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                self.disconnected = True
                return

    async def wait(self, timeout: float) -> None:
        """Return when the client leaves or after ``timeout`` seconds."""
        await asyncio.wait([self._task], timeout=timeout)

    def cancel(self) -> None:
        self._task.cancel()


async def _sleep_until(deadline: float) -> None:
    delay = deadline - TIMER_LEAD_S - time.monotonic()
    if delay > 0:
        await asyncio.sleep(delay)


async def _wait_disconnect(receive: Receive, timeout: float) -> None:
    async def watch() -> None:
        while (await receive())["type"] != "http.disconnect":
            pass

    try:
        await asyncio.wait_for(watch(), timeout)
    except TimeoutError:
        pass


async def handle(
    state: SimState,
    scope: Scope,
    body: bytes,
    route: str,
    parse: Callable[[bytes], Any],
    make_wire: Callable[[Plan | None], Wire],
) -> Callable[..., Any]:
    """Parse, plan and answer one generation request; errors use the provider's envelope."""
    arrival = arrival_time(scope)
    model = "-"
    try:
        req = parse(body)
        model = req.model
        plan = state.plan(req)
    except SimError as err:
        wire = make_wire(None)
        retry_after = 1.0
        profile = state.config.model(model)
        if profile is not None:
            retry_after = profile.retry_after_s
        status, headers, payload = wire.error(err, retry_after)
        name = profile.name if profile is not None else model
        state.metrics.request_done(route, name, status)
        state.metrics.recent.append({"at": wall_time(arrival), "route": route, "model": model,
                                     "status": status, "error": err.kind, "message": err.message})

        async def app(scope: Scope, receive: Receive, send: Send) -> None:
            await send_bytes(send, status, headers, payload)

        return app
    return PlanResponse(state, plan, make_wire(plan), route, arrival)
