"""Anthropic Message Batches on the wire, as anthropic-python parses them.

``POST /v1/messages/batches`` (``{"requests": [{custom_id, params}]}``), ``GET
/v1/messages/batches[/{id}]``, ``POST .../{id}/cancel`` and ``GET
.../{id}/results`` (JSONL, ``results_url`` set once the batch has ended). Each
result line is ``{"custom_id", "result": {"type": "succeeded", "message"} |
{"type": "errored", "error"} | {"type": "canceled"} | {"type": "expired"}}``.
"""

from __future__ import annotations

import json
import re
import time
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from pytest_llmbench.sim import anthropic_api
from pytest_llmbench.sim.batch_jobs import (
    BatchItem,
    BatchJob,
    BatchStore,
    Outcome,
    as_delivered,
    iso_time,
    key_error,
    list_page,
)
from pytest_llmbench.sim.state import SimError, SimState

_CUSTOM_ID = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")
MAX_REQUESTS = 100_000


def _error(status: int, kind: str, message: str) -> JSONResponse:
    return JSONResponse({"type": "error", "error": {"type": kind, "message": message},
                         "request_id": "req_011simbatch"}, status_code=status)


def batch_object(job: BatchJob, state: SimState, base: str) -> dict[str, Any]:
    now = time.time()
    status = job.status(now)
    ended = job.ended_at(now)
    counts = job.counts(state, now)
    processing = "ended" if ended else "canceling" if job.cancelled_at else "in_progress"
    return {
        "id": job.id, "type": "message_batch", "processing_status": processing,
        "request_counts": {"processing": counts["processing"], "succeeded": counts["succeeded"],
                           "errored": counts["errored"], "canceled": counts["cancelled"],
                           "expired": counts["expired"]},
        "ended_at": iso_time(ended), "created_at": iso_time(job.created),
        "expires_at": iso_time(job.expires_at), "archived_at": None,
        "cancel_initiated_at": iso_time(job.cancelled_at),
        "results_url": f"{base}/v1/messages/batches/{job.id}/results" if ended else None,
        "_sim_status": status,
    }


def _result_line(outcome: Outcome) -> bytes:
    custom_id = outcome.item.custom_id
    result: dict[str, Any]
    if outcome.not_run:
        result = {"type": "canceled" if outcome.not_run == "cancelled" else "expired"}
    elif outcome.error is not None:
        _, _, body = anthropic_api.AnthropicWire(None).error(outcome.error, 1.0)
        error = json.loads(body)
        error.pop("request_id", None)
        result = {"type": "errored", "error": error}
    else:
        assert outcome.plan is not None
        wire = anthropic_api.AnthropicWire(outcome.plan)
        result = {"type": "succeeded",
                  "message": json.loads(wire.complete(outcome.plan, outcome.plan.duration))}
    return json.dumps({"custom_id": custom_id, "result": result}).encode()


def routes(state: SimState, store: BatchStore) -> list[Route]:
    def check_key(request: Request) -> JSONResponse | None:
        why = key_error(state, anthropic_api.api_key(request.headers))
        return None if why is None else _error(401, "authentication_error", why)

    def base(request: Request) -> str:
        return str(request.base_url).rstrip("/")

    async def create(request: Request) -> Response:
        if (denied := check_key(request)) is not None:
            return denied
        try:
            body = await request.json()
        except ValueError:
            return _error(400, "invalid_request_error", "invalid JSON body")
        requests = body.get("requests") if isinstance(body, dict) else None
        if not isinstance(requests, list) or not requests:
            return _error(400, "invalid_request_error", "requests: Field required")
        if len(requests) > min(MAX_REQUESTS, store.settings.max_requests):
            return _error(400, "invalid_request_error",
                          f"requests: at most {min(MAX_REQUESTS, store.settings.max_requests)}")
        items: list[BatchItem] = []
        seen: set[str] = set()
        for index, entry in enumerate(requests):
            custom_id = entry.get("custom_id") if isinstance(entry, dict) else None
            if not isinstance(custom_id, str) or not _CUSTOM_ID.match(custom_id):
                return _error(400, "invalid_request_error",
                              f"requests.{index}.custom_id: must match ^[a-zA-Z0-9_-]{{1,64}}$")
            if custom_id in seen:
                return _error(400, "invalid_request_error",
                              f"requests.{index}.custom_id: duplicate {custom_id!r}")
            seen.add(custom_id)
            params = entry.get("params")
            try:
                if isinstance(params, dict) and params.get("stream"):
                    raise SimError("bad_request", "stream: not supported in batches")
                sim_request = anthropic_api.parse_messages({}, json.dumps(params).encode())
                items.append(BatchItem(custom_id, sim_request, params))
            except SimError as err:
                items.append(BatchItem(custom_id, None, params, invalid=err.message))
        job = store.add_job("anthropic", items, prefix="msgbatch_")
        return JSONResponse(batch_object(job, state, base(request)))

    def _job(request: Request) -> BatchJob | None:
        return store.job(request.path_params["batch_id"], "anthropic")

    def _missing(request: Request) -> JSONResponse:
        return _error(404, "not_found_error",
                      f"message batch {request.path_params['batch_id']!r} not found")

    async def retrieve(request: Request) -> Response:
        job = _job(request)
        return _missing(request) if job is None else JSONResponse(
            batch_object(job, state, base(request)))

    async def cancel(request: Request) -> Response:
        job = _job(request)
        if job is None:
            return _missing(request)
        job.cancel()
        return JSONResponse(batch_object(job, state, base(request)))

    async def results(request: Request) -> Response:
        job = _job(request)
        if job is None:
            return _missing(request)
        if job.ended_at() is None:
            return _error(400, "invalid_request_error",
                          f"message batch {job.id} has not ended; results are not available")
        lines = [as_delivered(_result_line(outcome), outcome)
                 for _, outcome in job.delivered(state)]
        return Response(b"\n".join(lines) + b"\n", media_type="application/binary")

    async def listing(request: Request) -> Response:
        return JSONResponse(list_page([batch_object(j, state, base(request))
                                       for j in reversed(store.of_kind("anthropic"))]))

    return [
        Route("/v1/messages/batches", create, methods=["POST"]),
        Route("/v1/messages/batches", listing, methods=["GET"]),
        Route("/v1/messages/batches/{batch_id}", retrieve, methods=["GET"]),
        Route("/v1/messages/batches/{batch_id}/cancel", cancel, methods=["POST"]),
        Route("/v1/messages/batches/{batch_id}/results", results, methods=["GET"]),
    ]
