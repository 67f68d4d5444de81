"""The run service's routes: start a run (``POST /api/runs``, scope ``run``, or the form
on ``/runs/new``), list queued and running runs, cancel, live progress over Server-Sent
Events, the queue page and the run's progress page; 503 in maintenance mode."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response, StreamingResponse
from starlette.routing import Route

from pytest_llmbench.server import api, jobs, pages
from pytest_llmbench.server.auth import CSRF_FIELD, check_csrf, require
from pytest_llmbench.server.catalog import SUBSETS, BadRequest, catalog, parse_request
from pytest_llmbench.server.models import Scope

MAINTENANCE_LINE = "the server is in maintenance mode: new runs are refused, running runs finish"
FINAL = ("done", "failed", "cancelled")


def _suites(request: Request) -> dict[str, Path]:
    return catalog(list(getattr(request.app.state.settings, "suite_dirs", [])))


async def _start(request: Request, data: dict[str, Any]) -> dict[str, Any]:
    db = request.app.state.db
    if await run_in_threadpool(jobs.maintenance, db):
        raise HTTPException(503, MAINTENANCE_LINE, headers={"Retry-After": "300"})
    suites = await run_in_threadpool(_suites, request)
    try:
        req = parse_request(data, suites)
        job = await run_in_threadpool(jobs.submit, db, req)
    except BadRequest as exc:
        raise HTTPException(400 if "unknown field" in str(exc) else 422, str(exc)) from None
    except jobs.Conflict as exc:
        raise HTTPException(409, str(exc)) from None
    position, eta, basis = await run_in_threadpool(jobs.queue_position, db, job.run_id)
    return {"run_id": job.run_id, "status": "queued", "position": position, "eta_s": eta,
            "eta_basis": basis, "events": f"/api/runs/{job.run_id}/events",
            "page": f"/jobs/{job.run_id}"}


async def runs(request: Request) -> Response:
    if request.method == "POST":
        await require(request, Scope.run)
        answer = await _start(request, await api._json_body(request))
        return JSONResponse(answer, status_code=201)
    status = request.query_params.get("status")
    if status in ("queued", "running"):
        await require(request, Scope.read, cookie=True)
        rows = await run_in_threadpool(jobs.listing, request.app.state.db, (status,))
        return JSONResponse({"runs": rows, "total": len(rows),
                             "maintenance": await run_in_threadpool(jobs.maintenance,
                                                                    request.app.state.db)})
    return await api.runs(request)


async def _job(request: Request) -> dict[str, Any]:
    run_id = request.path_params["run_id"]
    row = await run_in_threadpool(jobs.detail, request.app.state.db, run_id)
    if row is not None:
        return row
    raise HTTPException(404, f"no run {run_id!r} was started through the run service")


async def job(request: Request) -> Response:
    await require(request, Scope.read, cookie=True)
    return JSONResponse(await _job(request))


async def cancel(request: Request) -> Response:
    await require(request, Scope.run)
    return JSONResponse(await _cancel(request))


async def _cancel(request: Request) -> dict[str, Any]:
    run_id = request.path_params["run_id"]
    try:
        status = await run_in_threadpool(jobs.cancel, request.app.state.db, run_id)
    except KeyError:
        raise HTTPException(404, f"no run {run_id!r} was started through the run service") from None
    return {"run_id": run_id, "status": status}


async def events(request: Request) -> Response:
    """``text/event-stream``: a ``progress`` event each second while the run lives, then
    one ``end`` event with its final status."""
    await require(request, Scope.read, cookie=True)
    first = await _job(request)

    async def stream() -> Any:
        row = first
        last = None
        while True:
            text = json.dumps(row, default=str)
            if text != last:
                yield f"event: progress\ndata: {text}\n\n"
                last = text
            if row["status"] in FINAL:
                yield f"event: end\ndata: {json.dumps({'status': row['status']})}\n\n"
                return
            if await request.is_disconnected():
                return
            await asyncio.sleep(1.0)
            row = await _job(request)

    return StreamingResponse(stream(), media_type="text/event-stream",
                             headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})


async def queue_page(request: Request) -> Response:
    await require(request, Scope.read, cookie=True)
    db = request.app.state.db
    rows = await run_in_threadpool(jobs.listing, db)
    recent = await run_in_threadpool(jobs.listing, db, FINAL, 30)
    return pages.render(request, "queue.html", rows=rows, recent=recent[::-1],
                        maintenance=await run_in_threadpool(jobs.maintenance, db))


async def new_run_page(request: Request) -> Response:
    await require(request, Scope.read, cookie=True)
    db = request.app.state.db
    maintenance = await run_in_threadpool(jobs.maintenance, db)
    suites = sorted(await run_in_threadpool(_suites, request))
    message = None
    status = 200
    if request.method == "POST":
        async with request.form(max_files=0, max_fields=200, max_part_size=64 * 1024) as form:
            check_csrf(request, form.get(CSRF_FIELD))
            await require(request, Scope.run, cookie=True)
            subset = str(form.get("subset_pct") or "100")
            data: dict[str, Any] = {
                "models": str(form.get("models") or ""), "suites": form.getlist("suites"),
                "subset_pct": int(subset) if subset.isdigit() else subset,
                "tags": str(form.get("tags") or "")}
            seed = str(form.get("seed") or "").strip()
            if seed:
                data["seed"] = int(seed) if seed.lstrip("-").isdigit() else seed
            budget = str(form.get("budget_usd") or "").strip()
            if budget:
                try:
                    data["params"] = {"budget_usd": float(budget)}
                except ValueError:
                    data["params"] = {"budget_usd": budget}
        try:
            answer = await _start(request, data)
            return RedirectResponse(answer["page"], status_code=303)
        except HTTPException as exc:
            message, status = str(exc.detail), exc.status_code
    return pages.render(request, "new_run.html", status=status, suites=suites, subsets=SUBSETS,
                        message=message, maintenance=maintenance)


async def job_page(request: Request) -> Response:
    await require(request, Scope.read, cookie=True)
    row = await _job(request)
    return pages.render(request, "job.html", job=row,
                        maintenance=await run_in_threadpool(jobs.maintenance, request.app.state.db))


async def cancel_form(request: Request) -> Response:
    async with request.form(max_files=0, max_fields=5) as form:
        check_csrf(request, form.get(CSRF_FIELD))
    await require(request, Scope.run, cookie=True)
    await _cancel(request)
    return RedirectResponse(f"/jobs/{request.path_params['run_id']}", status_code=303)


routes = [
    Route("/api/runs", runs, methods=["GET", "POST"]),
    Route("/api/runs/{run_id}/job", job),
    Route("/api/runs/{run_id}/cancel", cancel, methods=["POST"]),
    Route("/api/runs/{run_id}/events", events),
    Route("/queue", queue_page),
    Route("/runs/new", new_run_page, methods=["GET", "POST"]),
    Route("/jobs/{run_id}", job_page),
    Route("/jobs/{run_id}/cancel", cancel_form, methods=["POST"]),
]
