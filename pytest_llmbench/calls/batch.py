"""Send a run's requests as provider batches and hand each item its answer.

Every process of a run collects the same items, so each can name every request
of the run. The first process to get here (a file lock in the run directory)
submits them all, grouped per model and split by the provider's limits, and
writes a ledger line per batch as soon as the provider has it; the others, and
a later ``--llmbench-resume`` of the same run, find the ledger and wait on the
same batch ids instead of paying twice. A poller thread asks the provider about
each batch, writes its state for progress, and once a batch has ended reads its
results once (cached in the run directory, shared by all processes) and settles
every waiting future: a Completion, or a ProviderError on exactly the requests
that failed, expired, were cancelled, came back malformed or never came back.
With ``retry_errors`` requests whose earlier batch answered with an error are
submitted again; nothing else is.

Files under ``<run dir>/batches/``: ``ledger.jsonl`` (batch id, model, custom id
-> request key), ``results/<batch>.json`` (normalised answers), ``status.json``
(latest state per batch) and ``lock``.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from dataclasses import fields
from pathlib import Path
from typing import Any

from filelock import FileLock

from pytest_llmbench.calls.pricing import batch_call_cost
from pytest_llmbench.config import ModelSpec
from pytest_llmbench.errors import LLMBenchError, ProviderError
from pytest_llmbench.providers.base import ChatRequest, Completion
from pytest_llmbench.providers.batch_base import BatchAPI, BatchResults, BatchStatus, batch_api

log = logging.getLogger(__name__)

FOLDER = "batches"
LEDGER = "ledger.jsonl"
STATUS = "status.json"
_FINAL_KINDS = ("auth", "not_found", "bad_request")
_COMPLETION_FIELDS = {f.name for f in fields(Completion)}


def batch_models(models: Sequence[ModelSpec], everything: bool) -> list[ModelSpec]:
    """The models whose calls go to batches: all with ``--llmbench-batch``, else those
    whose config entry says ``batch: true``."""
    return [m for m in models if everything or _truthy(m.settings.get("batch"))]


def _truthy(value: Any) -> bool:
    return value is True or str(value).strip().lower() in ("1", "true", "yes", "on")


def request_key(request: ChatRequest) -> str:
    """The same request in every process and every later session of the run."""
    meta = request.metadata
    data = [request.model.name, request.messages, request.params,
            [meta.get(k) for k in ("suite", "case_id", "sample", "variant")]]
    return hashlib.sha256(json.dumps(data, sort_keys=True, default=str).encode()).hexdigest()


def _safe(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9-]+", "-", text).strip("-")[:40] or "run"


class BatchCoordinator:
    """Answers ``submit_many`` from provider batches for batch models, from ``live``
    (the engine) for the others."""

    def __init__(self, live: Any, run_path: Path, models: Sequence[ModelSpec],
                 context: dict[str, Any], poll_s: float = 30.0, retry_errors: bool = False,
                 session: str = "", on_status: Callable[[dict[str, Any]], None] | None = None,
                 ) -> None:
        self.live = live
        self.folder = run_path / FOLDER
        self.batched = {m.name for m in models}
        self.context = context
        self.poll_s = poll_s
        self.retry_errors = retry_errors
        self.session = session or f"{os.getpid()}-{time.time_ns()}"
        self.on_status = on_status
        self.run_name = _safe(run_path.name)
        self._apis: dict[str, BatchAPI] = {}
        self._specs: dict[str, ModelSpec] = {}
        self._assigned: dict[str, tuple[str, str, str]] = {}  # key -> (batch id, custom id, model)
        self._failed: dict[str, ProviderError] = {}
        self._waiting: dict[str, list[Future[Completion]]] = {}
        self._results: dict[str, dict[str, Any]] = {}
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._closed = False
        self._thread: threading.Thread | None = None

    # Planning ------------------------------------------------------------

    def plan(self, requests: Sequence[ChatRequest]) -> None:
        """Make sure every batch-model request of ``requests`` is in a batch: found in the
        ledger (this run's earlier sessions, other processes) or submitted now."""
        wanted = [r for r in requests if r.model.name in self.batched]
        if not wanted:
            return
        self.folder.mkdir(parents=True, exist_ok=True)
        with FileLock(str(self.folder / "lock")):
            ledger = self._read_ledger()
            todo: dict[str, ChatRequest] = {}
            for request in wanted:
                key = request_key(request)
                self._specs[request.model.name] = request.model
                if key in todo or key in self._failed:
                    continue
                entry = ledger.get(key)
                if entry is not None and not self._resubmit(key, entry):
                    self._assigned[key] = (entry["batch_id"], entry["custom_id"], entry["model"])
                    continue
                todo[key] = request
            by_model: dict[str, list[tuple[str, ChatRequest]]] = {}
            for key, request in todo.items():
                by_model.setdefault(request.model.name, []).append((key, request))
            for name, items in by_model.items():
                self._submit_model(self._specs[name], items)
        self._start()

    def _resubmit(self, key: str, entry: dict[str, Any]) -> bool:
        """retry-errors: a request whose earlier session's batch answered with an error."""
        if not self.retry_errors or entry.get("session") == self.session:
            return False
        results = self._cached(entry["batch_id"])
        if results is None:
            return False
        answer = results["answers"].get(entry["custom_id"])
        return answer is None or "error" in answer

    def _submit_model(self, spec: ModelSpec, items: list[tuple[str, ChatRequest]]) -> None:
        try:
            api = self._api(spec)
            lines = [(key, request, api.line(request, key[:32])) for key, request in items]
        except LLMBenchError as exc:
            error = exc if isinstance(exc, ProviderError) else ProviderError(
                str(exc), model=spec.name, kind="config", error_type=type(exc).__name__)
            for key, _ in items:
                self._failed[key] = error
            return
        fitting = []
        for key, request, line in lines:  # a request too big for any batch fails alone
            if len(line) + 1 > api.max_bytes:
                self._failed[key] = ProviderError(
                    f"the request is {len(line) + 1} bytes, over the provider's "
                    f"{api.max_bytes} bytes per batch", model=spec.name, kind="bad_request",
                    error_type="BatchTooLarge")
            else:
                fitting.append((key, request, line))
        for number, chunk in enumerate(_split(fitting, api.max_requests, api.max_bytes)):
            name = f"llmbench-{self.run_name}-{_safe(spec.model)[:12]}-{time.time_ns() % 10**9}-{number}"
            try:
                batch_id = api.submit([line for _, _, line in chunk], name)
            except ProviderError as exc:
                for key, _, _ in chunk:
                    self._failed[key] = exc
                continue
            entry = {"batch_id": batch_id, "model": spec.name, "provider": spec.provider,
                     "session": self.session, "submitted_at": time.time(), "name": name,
                     "requests": {key[:32]: key for key, _, _ in chunk}}
            with open(self.folder / LEDGER, "a", encoding="utf-8") as handle:
                handle.write(json.dumps(entry) + "\n")
                handle.flush()
                os.fsync(handle.fileno())
            for key, _, _ in chunk:
                self._assigned[key] = (batch_id, key[:32], spec.name)
            log.info("llmbench batch: submitted %s (%s, %d requests)", batch_id, spec.name,
                     len(chunk))

    def _read_ledger(self) -> dict[str, dict[str, Any]]:
        """Request key -> its latest batch (a torn last line is ignored)."""
        path = self.folder / LEDGER
        out: dict[str, dict[str, Any]] = {}
        if not path.is_file():
            return out
        for raw in path.read_text(encoding="utf-8").splitlines():
            try:
                entry = json.loads(raw)
            except ValueError:
                continue
            for custom_id, key in entry.get("requests", {}).items():
                out[key] = {"batch_id": entry["batch_id"], "custom_id": custom_id,
                            "model": entry["model"], "session": entry.get("session")}
        return out

    def _api(self, spec: ModelSpec) -> BatchAPI:
        api = self._apis.get(spec.name)
        if api is None:
            api = self._apis[spec.name] = batch_api(spec, self.context)
        return api

    # Answers -------------------------------------------------------------

    def submit_many(self, requests: Sequence[ChatRequest]) -> list[Future[Completion]]:
        live = [(i, r) for i, r in enumerate(requests) if r.model.name not in self.batched]
        futures: list[Future[Completion] | None] = [None] * len(requests)
        if live:
            for (i, _), started in zip(live, self.live.submit_many([r for _, r in live]),
                                       strict=True):
                futures[i] = started
        unknown = [r for r in requests if r.model.name in self.batched
                   and request_key(r) not in self._assigned and request_key(r) not in self._failed]
        if unknown:
            self.plan(unknown)
        for i, request in enumerate(requests):
            if futures[i] is not None:
                continue
            future: Future[Completion] = Future()
            futures[i] = future
            key = request_key(request)
            if key in self._failed:
                future.set_exception(self._failed[key])
                continue
            with self._lock:
                self._waiting.setdefault(key, []).append(future)
        self._wake.set()
        return futures  # type: ignore[return-value]

    def _start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._poll_loop, name="llmbench-batch",
                                            daemon=True)
            self._thread.start()

    def _poll_loop(self) -> None:
        failures: dict[str, int] = {}
        while not self._closed:
            with self._lock:
                pending = {self._assigned[k][0]: self._assigned[k][2]
                           for k in self._waiting if k in self._assigned}
            for batch_id, model in pending.items():
                try:
                    self._check(batch_id, model)
                    failures.pop(batch_id, None)
                except ProviderError as exc:
                    failures[batch_id] = failures.get(batch_id, 0) + 1
                    if exc.kind in _FINAL_KINDS or failures[batch_id] >= 5:
                        self._settle(batch_id, error=exc)
                    else:
                        log.warning("llmbench batch: %s: %s (will ask again)", batch_id, exc)
                except Exception as exc:  # noqa: BLE001 - never leave a test waiting forever
                    self._settle(batch_id, error=ProviderError(
                        f"reading batch {batch_id} failed: {exc}", model=model,
                        error_type=type(exc).__name__))
            self._wake.wait(self.poll_s if pending else 1.0)
            self._wake.clear()

    def _check(self, batch_id: str, model: str) -> None:
        results = self._cached(batch_id)
        if results is None:
            api = self._api(self._spec(model))
            status = api.status(batch_id)
            self._write_status(batch_id, model, status)
            if not status.ended:
                return
            with FileLock(str(self.folder / "lock")):
                results = self._cached(batch_id)
                if results is None:
                    results = self._store(batch_id, api.results(batch_id, status), status)
        self._settle(batch_id, results=results)

    def _spec(self, model: str) -> ModelSpec:
        spec = self._specs.get(model)
        if spec is None:
            raise ProviderError(f"model {model} of a batch is not in this run", model=model)
        return spec

    def _cached(self, batch_id: str) -> dict[str, Any] | None:
        if batch_id in self._results:
            return self._results[batch_id]
        path = self._results_path(batch_id)
        if not path.is_file():
            return None
        try:
            data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
        except ValueError:
            return None
        self._results[batch_id] = data
        return data

    def _results_path(self, batch_id: str) -> Path:
        name = hashlib.sha256(batch_id.encode()).hexdigest()[:16]
        return self.folder / "results" / f"{_safe(batch_id.rsplit('/', 1)[-1])[:40]}-{name}.json"

    def _store(self, batch_id: str, results: BatchResults, status: BatchStatus) -> dict[str, Any]:
        answers: dict[str, Any] = {}
        for custom_id, answer in results.answers.items():
            if isinstance(answer, ProviderError):
                answers[custom_id] = {"error": {"message": answer.message, "kind": answer.kind,
                                                "error_type": answer.error_type}}
            else:
                answers[custom_id] = {"completion": answer.to_dict()}
        data = {"batch_id": batch_id, "status": status.to_dict(), "answers": answers,
                "unreadable": len(results.unreadable), "unreadable_sample": results.unreadable[:3],
                "missing_reason": results.missing_reason}
        path = self._results_path(batch_id)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(data), encoding="utf-8")
        os.replace(tmp, path)
        self._results[batch_id] = data
        return data

    def _settle(self, batch_id: str, results: dict[str, Any] | None = None,
                error: ProviderError | None = None) -> None:
        with self._lock:
            keys = [k for k in self._waiting if self._assigned.get(k, ("",))[0] == batch_id]
            waiting = {k: self._waiting.pop(k) for k in keys}
        for key, futures in waiting.items():
            _, custom_id, model = self._assigned[key]
            outcome = error if error is not None else self._answer(
                results or {}, batch_id, custom_id, self._spec(model))
            for future in futures:
                if isinstance(outcome, ProviderError):
                    future.set_exception(outcome)
                else:
                    future.set_result(outcome)

    def _answer(self, results: dict[str, Any], batch_id: str, custom_id: str,
                spec: ModelSpec) -> Completion | ProviderError:
        answer = results.get("answers", {}).get(custom_id)
        if answer is None:
            reason = results.get("missing_reason") or "the provider returned no line for it"
            unreadable = results.get("unreadable") or 0
            if unreadable:
                reason += f"; {unreadable} result line(s) of the batch could not be read"
            return ProviderError(f"no result for this request in batch {batch_id}: {reason}",
                                 model=spec.name, kind="missing_result",
                                 error_type="MissingBatchResult")
        if "error" in answer:
            err = answer["error"]
            return ProviderError(f"{err['message']} (batch {batch_id})", model=spec.name,
                                 kind=err.get("kind"), error_type=err.get("error_type"))
        data = {k: v for k, v in answer["completion"].items() if k in _COMPLETION_FIELDS}
        completion = Completion(**data)
        completion.batch = True
        completion.cost_usd, completion.cost_basis = batch_call_cost(spec, completion)
        return completion

    def _write_status(self, batch_id: str, model: str, status: BatchStatus) -> None:
        line = {**status.to_dict(), "batch_id": batch_id, "model": model,
                "updated": time.time()}
        path = self.folder / STATUS
        try:
            with FileLock(str(self.folder / "status.lock")):
                current = json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}
                current[batch_id] = line
                tmp = path.with_suffix(".tmp")
                tmp.write_text(json.dumps(current), encoding="utf-8")
                os.replace(tmp, path)
        except (OSError, ValueError) as exc:
            log.debug("llmbench batch: status not written: %s", exc)
        if self.on_status is not None:
            self.on_status(line)

    def close(self) -> None:
        """Stop polling. The batches go on at the provider (a resume picks them up)."""
        self._closed = True
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        with self._lock:
            waiting, self._waiting = self._waiting, {}
        for futures in waiting.values():
            for future in futures:
                future.cancel()


def _split(lines: list[tuple[str, ChatRequest, bytes]], max_requests: int,
           max_bytes: int) -> list[list[tuple[str, ChatRequest, bytes]]]:
    """Consecutive chunks within the provider's requests and bytes per batch."""
    chunks: list[list[tuple[str, ChatRequest, bytes]]] = []
    current: list[tuple[str, ChatRequest, bytes]] = []
    size = 0
    for entry in lines:
        length = len(entry[2]) + 1
        if current and (len(current) >= max_requests or size + length > max_bytes):
            chunks.append(current)
            current, size = [], 0
        current.append(entry)
        size += length
    if current:
        chunks.append(current)
    return chunks
