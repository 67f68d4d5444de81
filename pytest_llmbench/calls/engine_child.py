"""The engine process (``python -m pytest_llmbench.calls.engine_child FD``).

Runs one :class:`~pytest_llmbench.calls.engine.Engine` for pytest's process
(:mod:`pytest_llmbench.calls.engine_process`) over a socket: requests come in batches, results
go back in one message per turn of the event loop. Log records, warnings and the secrets
providers learn go back too, so the parent's logs and scrubbing see them. It ends on
``close`` or when the parent is gone.
"""

from __future__ import annotations

import functools
import gc
import logging
import os
import pickle
import signal
import sys
import threading
import warnings
from concurrent.futures import Future
from multiprocessing.connection import Connection
from typing import Any

from pytest_llmbench.calls import pricing
from pytest_llmbench.calls.engine import Engine
from pytest_llmbench.calls.engine_process import EngineSpec, describe
from pytest_llmbench.calls.ratelimit import RateLimits
from pytest_llmbench.errors import LLMBenchError
from pytest_llmbench.providers.base import Completion, warm
from pytest_llmbench.redaction import known_secrets


class Pump:
    """Moves requests to the engine and batches its results back."""

    def __init__(self, conn: Connection, spec: EngineSpec) -> None:
        self.conn = conn
        self._send_lock = threading.Lock()
        self._done: list[tuple[int, Completion | None, Any]] = []
        self._done_lock = threading.Lock()
        self._futures: dict[int, Future[Completion]] = {}
        self._secrets: frozenset[str] = known_secrets()
        maker = None
        if spec.coordinator is not None:
            from pytest_llmbench.calls.coordinator import bucket_maker  # noqa: PLC0415

            maker = bucket_maker(*spec.coordinator)
        self.engine = Engine(spec.concurrency, spec.timeout, spec.context, retry=spec.retry,
                             limits=RateLimits(spec.rate_limits, spec.limits_folder, maker))

    def send(self, message: tuple[Any, ...]) -> None:
        data = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
        with self._send_lock:
            self.conn.send_bytes(data)

    def submit(self, batch: list[tuple[int, Any]]) -> None:
        futures = self.engine.submit_many([request for _, request in batch])
        for (call_id, _), future in zip(batch, futures, strict=True):
            self._futures[call_id] = future
            future.add_done_callback(functools.partial(self._finished, call_id))

    def cancel(self, ids: list[int]) -> None:
        for call_id in ids:
            future = self._futures.get(call_id)
            if future is not None:
                future.cancel()

    def _finished(self, call_id: int, future: Future[Completion]) -> None:
        """In the engine's thread: queue the result; the first of a turn schedules the send."""
        if future.cancelled():
            return
        error = future.exception()
        result = (call_id, None, describe(error)) if error is not None else \
            (call_id, future.result(), None)
        with self._done_lock:
            first = not self._done
            self._done.append(result)
        if first:
            self.engine._loop.call_soon_threadsafe(self._flush)

    def _flush(self) -> None:
        with self._done_lock:
            done, self._done = self._done, []
        for call_id, _, _ in done:
            self._futures.pop(call_id, None)
        secrets = known_secrets()
        if secrets != self._secrets:  # a provider learnt a key: the parent must scrub it too
            self.send(("secrets", sorted(secrets - self._secrets)))
            self._secrets = secrets
        try:
            self.send(("done", done))
        except (pickle.PicklingError, TypeError, AttributeError):  # one odd answer: its own error
            self.send(("done", [_sendable(result) for result in done]))


def _sendable(result: tuple[int, Completion | None, Any]) -> tuple[int, Completion | None, Any]:
    try:
        pickle.dumps(result)
    except Exception as exc:  # noqa: BLE001 - never leave the parent waiting
        error = LLMBenchError(f"the engine process could not send this answer back: {exc}")
        return result[0], None, describe(error)
    return result


class Forward(logging.Handler):
    """Log records back to the parent, where pytest's handlers are."""

    def __init__(self, pump: Pump) -> None:
        super().__init__()
        self.pump = pump

    def emit(self, record: logging.LogRecord) -> None:
        try:
            data = dict(record.__dict__, msg=record.getMessage(), args=None, exc_info=None,
                        exc_text=None)
            self.pump.send(("log", data))
        except Exception:  # noqa: BLE001 - a log line must never break a call
            pass


def main() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides when this ends
    conn = Connection(int(sys.argv[1]))
    pump: Pump | None = None
    try:
        while True:
            try:
                message = pickle.loads(conn.recv_bytes())
            except (EOFError, OSError):  # the parent is gone
                break
            kind = message[0]
            if kind == "warm":  # import the SDKs now, while pytest starts up
                for name in message[1]:
                    warm(name)
                pricing.warm(message[1])
                gc.freeze()  # a full collection over the SDKs' and price table's objects
                # would stall the loop ~70 ms mid-stream; what is loaded now lives on anyway
            elif kind == "configure":
                pump = configure(conn, message[1])
            elif kind == "submit" and pump is not None:
                pump.submit(message[1])
            elif kind == "cancel" and pump is not None:
                pump.cancel(message[1])
            elif kind == "close":
                break
    finally:
        if pump is not None:
            pump.engine.close()
        try:
            conn.send_bytes(pickle.dumps(("closed",)))
        except OSError:
            pass
    os._exit(0)


def configure(conn: Connection, spec: EngineSpec) -> Pump:
    """The engine, with this process's logs and warnings going to the parent."""
    pump = Pump(conn, spec)
    root = logging.getLogger()
    root.setLevel(spec.log_level)
    root.addHandler(Forward(pump))

    def show(message: Any, category: type[Warning], *args: Any, **kwargs: Any) -> None:
        pump.send(("warning", str(message), category.__name__))

    warnings.showwarning = show
    return pump


if __name__ == "__main__":
    main()
