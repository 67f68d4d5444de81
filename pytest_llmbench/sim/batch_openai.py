"""OpenAI Files and Batches on the wire, as openai-python parses them.

``POST /v1/files`` (multipart, ``purpose=batch``), ``GET /v1/files/{id}`` and
``/content``; ``POST /v1/batches``, ``GET /v1/batches[/{id}]``, ``POST
/v1/batches/{id}/cancel``. Output and error files are made when a batch ends:
one line per request, ``{"id", "custom_id", "response": {"status_code",
"request_id", "body"}, "error"}``; requests never run carry ``error.code``
``batch_expired`` or ``batch_cancelled``.
"""

from __future__ import annotations

import json
import time
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from pytest_llmbench.sim import openai_api
from pytest_llmbench.sim.batch_jobs import (
    BatchItem,
    BatchJob,
    BatchStore,
    Outcome,
    as_delivered,
    key_error,
    list_page,
)
from pytest_llmbench.sim.state import CASE_HEADER, SAMPLE_HEADER, SimError, SimState

ENDPOINT = "/v1/chat/completions"
_STATUS = {"completed": "completed", "expired": "expired", "cancelled": "cancelled",
           "cancelling": "cancelling", "finalizing": "finalizing", "in_progress": "in_progress",
           "validating": "validating"}


def _error(status: int, message: str, code: str | None = None) -> JSONResponse:
    return JSONResponse({"error": {"message": message, "type": "invalid_request_error",
                                   "param": None, "code": code}}, status_code=status)


def _file_object(file_id: str, entry: dict[str, Any]) -> dict[str, Any]:
    return {"id": file_id, "object": "file", "bytes": len(entry["data"]),
            "created_at": int(entry["created"]), "filename": entry["filename"],
            "purpose": entry["purpose"], "status": "processed", "expires_at": None,
            "status_details": None}


def _hints(body: Any) -> dict[str, str]:
    """The case and sample a ``sim:`` batch request names in its metadata (the live
    provider sends them as headers), so batch answers follow the same answer key."""
    meta = body.get("metadata") if isinstance(body, dict) else None
    if not isinstance(meta, dict) or not isinstance(meta.get("llmbench_case"), str):
        return {}
    return {CASE_HEADER: meta["llmbench_case"],
            SAMPLE_HEADER: str(meta.get("llmbench_sample") or "0")}


def parse_lines(data: bytes, state: SimState) -> list[BatchItem]:
    """The input file's requests; a line that is not a valid request fails on its own."""
    items: list[BatchItem] = []
    seen: set[str] = set()
    for number, raw in enumerate(data.splitlines(), 1):
        if not raw.strip():
            continue
        try:
            line = json.loads(raw)
        except ValueError as exc:
            raise SimError("bad_request", f"line {number}: not JSON ({exc})") from exc
        custom_id = line.get("custom_id") if isinstance(line, dict) else None
        if not isinstance(custom_id, str) or not custom_id:
            raise SimError("bad_request", f"line {number}: custom_id is required")
        if custom_id in seen:
            raise SimError("bad_request", f"line {number}: duplicate custom_id {custom_id!r}")
        seen.add(custom_id)
        if line.get("method") != "POST" or line.get("url") != ENDPOINT:
            raise SimError("bad_request", f"line {number}: only POST {ENDPOINT} is batched here")
        body = line.get("body")
        try:
            if isinstance(body, dict) and body.get("stream"):
                raise SimError("bad_request", "stream is not supported in batches")
            request = openai_api.parse_chat(_hints(body), json.dumps(body).encode())
            items.append(BatchItem(custom_id, request, body))
        except SimError as err:
            items.append(BatchItem(custom_id, None, body, invalid=err.message))
    return items


def batch_object(job: BatchJob, state: SimState) -> dict[str, Any]:
    now = time.time()
    status = _STATUS[job.status(now)]
    counts = job.counts(state, now)
    ended = job.ended_at(now) is not None
    failed = counts["errored"] + (counts["expired"] + counts["cancelled"] if ended else 0)
    meta = job.meta
    stop = job.stopped_at()
    return {
        "id": job.id, "object": "batch", "endpoint": ENDPOINT, "errors": None,
        "input_file_id": meta["input_file_id"], "completion_window": "24h", "status": status,
        "output_file_id": meta.get("output_file_id"), "error_file_id": meta.get("error_file_id"),
        "created_at": int(job.created),
        "in_progress_at": int(job.in_progress_at) if now >= job.in_progress_at else None,
        "expires_at": int(job.expires_at),
        "finalizing_at": int(job.finalizing_at) if status in ("finalizing", "completed") else None,
        "completed_at": int(job.completed_at) if status == "completed" else None,
        "failed_at": None,
        "expired_at": int(stop + job.settings.finalize_s) if status == "expired" and stop else None,
        "cancelling_at": int(job.cancelled_at) if job.cancelled_at else None,
        "cancelled_at": (int(job.cancelled_at + job.settings.finalize_s)
                         if status == "cancelled" and job.cancelled_at else None),
        "request_counts": {"total": len(job.items), "completed": counts["succeeded"],
                           "failed": failed},
        "metadata": meta.get("metadata"), "model": meta.get("model"),
    }


def _result_line(job: BatchJob, outcome: Outcome, index: int) -> tuple[str, bytes]:
    """("output" | "error", the line) for one request of an ended job."""
    rid = f"batch_req_{job.id[6:]}{index:06d}"
    custom_id = outcome.item.custom_id
    if outcome.not_run:
        code = "batch_expired" if outcome.not_run == "expired" else "batch_cancelled"
        message = ("This request could not be executed before the completion window expired."
                   if code == "batch_expired" else
                   "This request was not executed because the batch was cancelled.")
        line: dict[str, Any] = {"id": rid, "custom_id": custom_id, "response": None,
                                "error": {"code": code, "message": message}}
        return "error", json.dumps(line).encode()
    if outcome.error is not None:
        wire = openai_api.OpenAIWire(None)
        status, _, body = wire.error(outcome.error, 1.0)
        line = {"id": rid, "custom_id": custom_id, "error": None,
                "response": {"status_code": status, "request_id": f"req_{rid}",
                             "body": json.loads(body)}}
        return "error", json.dumps(line).encode()
    assert outcome.plan is not None
    wire = openai_api.OpenAIWire(outcome.plan)
    body = json.loads(wire.complete(outcome.plan, outcome.plan.duration))
    line = {"id": rid, "custom_id": custom_id, "error": None,
            "response": {"status_code": 200, "request_id": wire.request_id, "body": body}}
    return "output", json.dumps(line).encode()


def finish(job: BatchJob, store: BatchStore, state: SimState) -> None:
    """Write the output and error files once the job has ended (once)."""
    if "finished" in job.meta or job.ended_at() is None:
        return
    files: dict[str, list[bytes]] = {"output": [], "error": []}
    for index, outcome in job.delivered(state):
        which, line = _result_line(job, outcome, index)
        files[which].append(as_delivered(line, outcome))
    for which, lines in files.items():
        if lines:
            file_id = store.new_id("file-")
            store.files[file_id] = {"data": b"\n".join(lines) + b"\n", "created": time.time(),
                                    "filename": f"{job.id}_{which}.jsonl",
                                    "purpose": "batch_output"}
            job.meta[f"{which}_file_id"] = file_id
    job.meta["finished"] = True


def routes(state: SimState, store: BatchStore) -> list[Route]:
    def check_key(request: Request) -> JSONResponse | None:
        why = key_error(state, openai_api.api_key(request.headers))
        return None if why is None else _error(401, why, "invalid_api_key")

    async def upload(request: Request) -> Response:
        if (denied := check_key(request)) is not None:
            return denied
        form = await request.form()
        upload = form.get("file")
        purpose = form.get("purpose")
        if upload is None or isinstance(upload, str):
            return _error(400, "file is required")
        if purpose != "batch":
            return _error(400, f"purpose must be 'batch' here, got {purpose!r}")
        data = await upload.read()
        if len(data) > store.settings.max_bytes:
            return _error(400, f"file is {len(data)} bytes; the limit is {store.settings.max_bytes}")
        file_id = store.new_id("file-")
        store.files[file_id] = {"data": data, "created": time.time(),
                                "filename": upload.filename or "batch.jsonl", "purpose": purpose}
        return JSONResponse(_file_object(file_id, store.files[file_id]))

    async def file_info(request: Request) -> Response:
        file_id = request.path_params["file_id"]
        entry = store.files.get(file_id)
        if entry is None:
            return _error(404, f"No such File object: {file_id}")
        return JSONResponse(_file_object(file_id, entry))

    async def file_content(request: Request) -> Response:
        entry = store.files.get(request.path_params["file_id"])
        if entry is None:
            return _error(404, f"No such File object: {request.path_params['file_id']}")
        return Response(entry["data"], media_type="application/octet-stream")

    async def create(request: Request) -> Response:
        if (denied := check_key(request)) is not None:
            return denied
        try:
            body = await request.json()
        except ValueError:
            return _error(400, "invalid JSON body")
        file_id = body.get("input_file_id")
        if body.get("endpoint") != ENDPOINT:
            return _error(400, f"endpoint must be {ENDPOINT} here")
        if body.get("completion_window") != "24h":
            return _error(400, "completion_window must be '24h'")
        entry = store.files.get(file_id) if isinstance(file_id, str) else None
        if entry is None:
            return _error(404, f"No such File object: {file_id}")
        try:
            items = parse_lines(entry["data"], state)
        except SimError as err:
            return _error(400, err.message)
        if not items:
            return _error(400, "the input file has no requests")
        if len(items) > store.settings.max_requests:
            return _error(400, f"{len(items)} requests; a batch holds at most "
                          f"{store.settings.max_requests}")
        models = {i.request.model for i in items if i.request is not None}
        job = store.add_job("openai", items, {"input_file_id": file_id,
                                              "metadata": body.get("metadata"),
                                              "model": next(iter(models)) if len(models) == 1
                                              else None})
        return JSONResponse(batch_object(job, state))

    def _job(request: Request) -> BatchJob | None:
        return store.job(request.path_params["batch_id"], "openai")

    async def retrieve(request: Request) -> Response:
        job = _job(request)
        if job is None:
            return _error(404, f"No batch found with id '{request.path_params['batch_id']}'.")
        finish(job, store, state)
        return JSONResponse(batch_object(job, state))

    async def cancel(request: Request) -> Response:
        job = _job(request)
        if job is None:
            return _error(404, f"No batch found with id '{request.path_params['batch_id']}'.")
        job.cancel()
        finish(job, store, state)
        return JSONResponse(batch_object(job, state))

    async def listing(request: Request) -> Response:
        jobs = store.of_kind("openai")
        for job in jobs:
            finish(job, store, state)
        return JSONResponse({"object": "list",
                             **list_page([batch_object(j, state) for j in reversed(jobs)])})

    return [
        Route("/v1/files", upload, methods=["POST"]),
        Route("/v1/files/{file_id}", file_info, methods=["GET"]),
        Route("/v1/files/{file_id}/content", file_content, methods=["GET"]),
        Route("/v1/batches", create, methods=["POST"]),
        Route("/v1/batches", listing, methods=["GET"]),
        Route("/v1/batches/{batch_id}", retrieve, methods=["GET"]),
        Route("/v1/batches/{batch_id}/cancel", cancel, methods=["POST"]),
    ]
