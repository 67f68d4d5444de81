"""The engine in a child process: network calls off pytest's GIL.

In one process, pytest's thread and the engine's event loop take turns on one GIL: every
socket call of the SDK hands the interpreter to pytest's thread, and the loop waits up to a
switch interval to get it back. Through a real SDK against a fast server that cost about
2 ms per item and inflated TTFT by over 10 ms at concurrency 32. Here the same
:class:`~pytest_llmbench.calls.engine.Engine` runs in a child process
(:mod:`~pytest_llmbench.calls.engine_child`) with its own GIL, so its timings are as true as
a bare client's; pytest's side only pickles requests and reads results.

Requests for a provider a fresh interpreter cannot build (one registered at run time by a
conftest) or for ``inproc:`` (no I/O: nothing to gain) stay on an in-process engine.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import itertools
import logging
import pickle
import subprocess
import sys
import threading
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from typing import Any

from pytest_llmbench.calls.engine import Engine
from pytest_llmbench.calls.engine_spawn import LOCAL_PROVIDERS, spawn, take_early
from pytest_llmbench.calls.retry import RetryPolicy
from pytest_llmbench.errors import LLMBenchError
from pytest_llmbench.providers.base import ChatRequest, Completion, importable_provider
from pytest_llmbench.redaction import remember_secret

Future = concurrent.futures.Future
START_TIMEOUT_S = 120.0
READ_INTERVAL_S = 0.01
"""How often answers nobody waits for yet are read from the child (a waiter reads at once)."""

log = logging.getLogger(__name__)


@dataclass
class EngineSpec:
    """What the child needs to build the same engine (plain data: it is pickled)."""

    concurrency: int
    timeout: float
    context: dict[str, Any]
    retry: RetryPolicy
    rate_limits: dict[str, Any] = field(default_factory=dict)
    limits_folder: str | None = None
    coordinator: tuple[str, str] | None = None
    log_level: int = logging.WARNING


def goes_remote(provider: str) -> bool:
    """Whether calls to this provider are made by the child process."""
    return provider not in LOCAL_PROVIDERS and importable_provider(provider)


class ProcessEngine:
    """:class:`Engine`'s interface (``submit_many``, ``call``, ``acall``, ``close``); calls of
    importable providers are made by a child process, the others by a local engine."""

    def __init__(self, make_spec: Callable[[], EngineSpec],
                 make_local: Callable[[], Engine]) -> None:
        self._make_spec = make_spec  # called at the first call: the run's context is complete
        self._make_local = make_local
        self._local: Engine | None = None
        self._configured = False
        self._ids = itertools.count()
        self._where: dict[str, bool] = {}
        self._pending: dict[int, _RemoteFuture] = {}
        self._lock = threading.Lock()
        self._send_lock = threading.Lock()
        self._child: subprocess.Popen[bytes] | None = None
        self._conn: Connection | None = None
        self._reader: threading.Thread | None = None
        self._inbox = threading.RLock()  # held by whichever thread reads the child's messages (a
        # done-callback that waits for another answer reads on, in the same thread)
        self._stop_reading = threading.Event()
        self._gone = False  # the child's pipe reached its end
        self._stderr: Any = None
        self._dead: LLMBenchError | None = None
        self._closed = False

    # the interface -------------------------------------------------------------------

    def submit(self, request: ChatRequest) -> Future[Completion]:
        return self.submit_many([request])[0]

    def submit_many(self, requests: Sequence[ChatRequest]) -> list[Future[Completion]]:
        """One message to the child for all remote requests; local ones to the local engine."""
        remote = [self._remote(r.model.provider) for r in requests]
        local_futures = iter(self.local.submit_many([r for r, far in zip(requests, remote,
                                                                       strict=True) if not far])
                             if not all(remote) else ())
        futures: list[Future[Completion]] = []
        batch: list[tuple[int, ChatRequest]] = []
        for request, far in zip(requests, remote, strict=True):
            if not far:
                futures.append(next(local_futures))
                continue
            future = _RemoteFuture(self, next(self._ids))
            futures.append(future)
            batch.append((future.call_id, request))
        if batch:
            self._send_batch(batch)
        return futures

    def call(self, request: ChatRequest) -> Completion:
        return self.submit(request).result()

    def _remote(self, provider: str) -> bool:
        found = self._where.get(provider)
        if found is None:
            found = self._where[provider] = goes_remote(provider)
        return found

    async def acall(self, request: ChatRequest) -> Completion:
        return await asyncio.wrap_future(self.submit(request))

    @property
    def local(self) -> Engine:
        if self._local is None:
            self._local = self._make_local()
        return self._local

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        if self._local is not None:
            self._local.close()
        if self._child is None:
            return
        try:
            self._send(("close",))
            self._child.wait(timeout=30)
        except (OSError, subprocess.TimeoutExpired, LLMBenchError):
            self._child.kill()
            self._child.wait()
        self._stop_reading.set()
        if self._reader is not None:
            self._reader.join(timeout=10)
        with self._inbox:
            self._read_available()
        self._fail_pending(LLMBenchError("the run ended before this call was answered"))
        if self._conn is not None:
            self._conn.close()

    # the child -----------------------------------------------------------------------

    def _send_batch(self, batch: list[tuple[int, ChatRequest]]) -> None:
        try:
            self._start()
            if not self._configured:
                self._send(("configure", self._make_spec()))
                self._configured = True
            self._send(("submit", batch))
        except LLMBenchError as exc:
            with self._lock:
                failed = [self._pending.pop(call_id, None) for call_id, _ in batch]
            for future in failed:
                if future is not None and not future.done():
                    future.set_exception(exc)

    def start(self, providers: Sequence[str] = ()) -> None:
        """Start the child now, importing these providers' SDKs while pytest starts up."""
        if any(self._remote(name) for name in providers):
            self._start([name for name in providers if self._remote(name)])

    def _start(self, warm: Sequence[str] = ()) -> None:
        if self._child is not None:
            if self._dead is not None:
                raise self._dead
            return
        if self._closed:
            raise LLMBenchError("the engine is closed")
        self._child, self._conn, self._stderr = take_early() or spawn()
        self._send(("warm", sorted(set(warm))))  # what the early child was not told to import
        self._reader = threading.Thread(target=self._read_often, name="llmbench-engine-reader",
                                        daemon=True)
        self._reader.start()

    def _send(self, message: tuple[Any, ...]) -> None:
        data = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
        assert self._conn is not None
        try:
            with self._send_lock:
                self._conn.send_bytes(data)
        except OSError:
            raise self._died() from None

    def _read_often(self) -> None:
        """Settle what has arrived every few ms, for calls nobody is waiting on yet and for
        callbacks (asyncio callers). A thread woken by each message instead takes the GIL from
        pytest's thread hundreds of times a second, and pytest's thread waits to get it back
        after each of its own writes (~0.2-0.5 ms an item with unbuffered output)."""
        while not self._stop_reading.wait(READ_INTERVAL_S) and not self._gone:
            if self._inbox.acquire(blocking=False):
                try:
                    self._read_available()
                finally:
                    self._inbox.release()

    def wait_for(self, future: Future[Completion], timeout: float | None = None) -> None:
        """Read the child's messages in this thread until ``future`` is settled (or
        ``timeout``): a caller waiting for its answer takes it as soon as it arrives."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while not future.done() and not self._gone and self._conn is not None:
            left = None if deadline is None else deadline - time.monotonic()
            if left is not None and left <= 0:
                return
            slice_s = READ_INTERVAL_S if left is None else min(READ_INTERVAL_S, left)
            if self._inbox.acquire(timeout=slice_s):
                try:
                    if self._conn.poll(slice_s):  # wakes as a message arrives; a signal is safe here
                        self._read_available()
                except OSError:  # closed meanwhile by close(), which settled every call
                    return
                finally:
                    self._inbox.release()

    def _read_available(self) -> None:
        """Handle every message already there (the caller holds ``_inbox``)."""
        conn = self._conn
        if conn is None or self._gone:
            return
        try:
            while conn.poll(0):
                data = conn.recv_bytes()
                try:
                    message = pickle.loads(data)
                except Exception as exc:  # noqa: BLE001 - a read cut short (Ctrl-C) broke the stream
                    raise OSError(f"unreadable message from the engine process: {exc}") from exc
                kind = message[0]
                if kind == "done":
                    self._settle(message[1])
                elif kind == "secrets":
                    for secret in message[1]:
                        remember_secret(secret)
                elif kind == "log":
                    record = logging.makeLogRecord(message[1])
                    logging.getLogger(record.name).handle(record)
                elif kind == "warning":
                    warnings.warn(message[1], _category(message[2]), stacklevel=1)
                elif kind == "closed":
                    self._gone = True
                    return
        except (EOFError, OSError):
            self._gone = True
            self._fail_pending(self._died())

    def _settle(self, results: list[tuple[int, Completion | None, Any]]) -> None:
        with self._lock:
            found = [(self._pending.pop(call_id, None), completion, error)
                     for call_id, completion, error in results]
        for future, completion, error in found:
            if future is None or future.done():
                continue
            try:
                if error is not None:
                    future.set_exception(_rebuild(error))
                else:
                    future.set_result(completion)
            except concurrent.futures.InvalidStateError:  # cancelled meanwhile
                pass

    def _died(self) -> LLMBenchError:
        """The error every unanswered call gets when the child is gone."""
        if self._dead is None:
            code = None
            if self._child is not None:
                try:  # the pipe closes a moment before the exit status is there to read
                    code = self._child.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    code = None
            last = ""
            if self._stderr is not None:
                self._stderr.seek(0)
                lines = self._stderr.read().decode("utf-8", "replace").strip().splitlines()
                last = f": {lines[-1]}" if lines else ""
            self._dead = LLMBenchError(f"the engine process exited (code {code}){last}")
        return self._dead

    def _fail_pending(self, error: LLMBenchError) -> None:
        with self._lock:
            pending, self._pending = list(self._pending.values()), {}
        for future in pending:
            if future is not None and not future.done():
                try:
                    future.set_exception(error)
                except concurrent.futures.InvalidStateError:
                    pass

    def _cancel(self, call_id: int) -> None:
        with self._lock:
            if self._pending.pop(call_id, None) is None:
                return
        try:
            self._send(("cancel", [call_id]))
        except LLMBenchError:
            pass


class _RemoteFuture(Future):  # type: ignore[type-arg]
    """A call made by the child; cancelling it unqueues the call there if not yet started."""

    def __init__(self, engine: ProcessEngine, call_id: int) -> None:
        super().__init__()
        self.engine = engine
        self.call_id = call_id
        with engine._lock:
            engine._pending[call_id] = self

    def result(self, timeout: float | None = None) -> Completion:
        self.engine.wait_for(self, timeout)
        return super().result(None if timeout is None else 0)  # type: ignore[no-any-return]

    def exception(self, timeout: float | None = None) -> BaseException | None:
        self.engine.wait_for(self, timeout)
        return super().exception(None if timeout is None else 0)

    def cancel(self) -> bool:
        cancelled = super().cancel()
        if cancelled:
            self.engine._cancel(self.call_id)
        return cancelled


def describe(error: BaseException) -> tuple[str, str, str, dict[str, Any]]:
    """An exception as plain data (constructors differ; ``__dict__`` and the message do not)."""
    cls = type(error)
    state = {k: v for k, v in vars(error).items() if _picklable(v)}
    return cls.__module__, cls.__qualname__, str(error), state


def _rebuild(data: tuple[str, str, str, dict[str, Any]]) -> BaseException:
    module, name, message, state = data
    cls: Any = LLMBenchError
    try:
        found = sys.modules.get(module) or __import__(module, fromlist=[name])
        for part in name.split("."):
            found = getattr(found, part)
        if isinstance(found, type) and issubclass(found, BaseException):
            cls = found
    except Exception:  # noqa: BLE001 - an error class this process cannot import
        pass
    error: BaseException = cls.__new__(cls)
    BaseException.__init__(error, message)
    error.__dict__.update(state)
    return error


def _picklable(value: Any) -> bool:
    try:
        pickle.dumps(value)
    except Exception:  # noqa: BLE001
        return False
    return True


def _category(name: str) -> type[Warning]:
    import builtins

    found = getattr(builtins, name, UserWarning)
    return found if isinstance(found, type) and issubclass(found, Warning) else UserWarning
