"""The JSON API under ``/api/``: ingest (what the plugin posts), runs, items, compare,
trends, exports and verification. Each page shows the same data as one of these."""

from __future__ import annotations

import datetime as dt
import tempfile
from pathlib import Path
from typing import Any

from starlette.background import BackgroundTask
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import Route

from pytest_llmbench.report.export import ExportError
from pytest_llmbench.server import exports, queries
from pytest_llmbench.server.auth import require
from pytest_llmbench.server.ingest import IngestRejected, spool_file, store_batch
from pytest_llmbench.server.models import Scope


def error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


def _int(request: Request, name: str, default: int) -> int:
    value = request.query_params.get(name)
    if value in (None, ""):
        return default
    try:
        return int(value)
    except ValueError:
        raise HTTPException(400, f"query parameter '{name}' must be an integer") from None


def _time(request: Request, name: str) -> float | None:
    value = request.query_params.get(name)
    if not value:
        return None
    try:
        return float(value)
    except ValueError:
        pass
    try:
        stamp = dt.datetime.fromisoformat(value)
    except ValueError:
        raise HTTPException(400, f"query parameter '{name}' must be a date (2026-12-01) or a "
                                 "Unix time") from None
    if stamp.tzinfo is None:
        stamp = stamp.replace(tzinfo=dt.UTC)
    return stamp.timestamp()


def run_filter(request: Request) -> queries.RunFilter:
    q = request.query_params
    return queries.RunFilter(suite=q.get("suite") or None, model=q.get("model") or None,
                             target=q.get("target") or None, tag=q.get("tag") or None,
                             status=q.get("status") or None, since=_time(request, "since"),
                             until=_time(request, "until"), text=q.get("q") or None,
                             page=_int(request, "page", 1), per_page=_int(request, "per_page", 50))


def item_filter(request: Request) -> queries.ItemFilter:
    q = request.query_params
    return queries.ItemFilter(outcome=q.get("outcome") or None, model=q.get("model") or None,
                              suite=q.get("suite") or None, target=q.get("target") or None,
                              text=q.get("q") or None, page=_int(request, "page", 1),
                              per_page=_int(request, "per_page", 50))


async def ingest(request: Request) -> Response:
    await require(request, Scope.ingest)
    settings = request.app.state.settings
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if ctype != "application/json":
        return error(415, f"Content-Type must be application/json, not {ctype or 'missing'!r}")
    limit = settings.max_ingest_bytes
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        return error(413, f"the batch is {int(declared)} bytes; this server takes at most {limit} "
                          "(--max-ingest-mb; lower --llmbench-ingest-batch-size)")
    body = spool_file()
    try:
        size = 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                return error(413, f"the batch is over {limit} bytes (--max-ingest-mb; lower "
                                  "--llmbench-ingest-batch-size)")
            body.write(chunk)  # memory up to SPOOL_MEMORY, then a temporary file
        key = request.headers.get("idempotency-key") or None
        outcome = await run_in_threadpool(store_batch, request.app.state.db, body, key)
    except IngestRejected as exc:
        return error(exc.status, str(exc))
    finally:
        body.close()
    return JSONResponse(outcome.to_dict())


def _not_found(exc: queries.NotFound) -> HTTPException:
    return HTTPException(404, str(exc))


async def runs(request: Request) -> Response:
    await require(request, Scope.read, cookie=True)
    return JSONResponse(await run_in_threadpool(queries.list_runs, request.app.state.db,
                                                run_filter(request)))


async def run(request: Request) -> Response:
    await require(request, Scope.read, cookie=True)
    run_id = request.path_params["run_id"]
    db = request.app.state.db
    if request.method == "DELETE":
        await require(request, Scope.admin)
        await _call(queries.delete_run, db, run_id)
        return JSONResponse({"deleted": run_id})
    return JSONResponse(await _call(queries.run_detail, db, run_id))


async def _call(func: Any, *args: Any, **kwargs: Any) -> Any:
    try:
        return await run_in_threadpool(func, *args, **kwargs)
    except queries.NotFound as exc:
        raise _not_found(exc) from None


async def items(request: Request) -> Response:
    await require(request, Scope.read, cookie=True)
    return JSONResponse(await _call(queries.items_page, request.app.state.db,
                                    request.path_params["run_id"], item_filter(request)))


async def item(request: Request) -> Response:
    await require(request, Scope.read, cookie=True)
    return JSONResponse(await _call(queries.item_detail, request.app.state.db,
                                    request.path_params["run_id"], request.path_params["item_id"]))


async def _json_body(request: Request) -> dict[str, Any]:
    try:
        data = await request.json()
    except ValueError:
        raise HTTPException(400, "the body is not valid JSON") from None
    if not isinstance(data, dict):
        raise HTTPException(400, "the body must be a JSON object")
    return data


async def tags(request: Request) -> Response:
    await require(request, Scope.admin)
    data = await _json_body(request)
    add, remove = data.get("add") or [], data.get("remove") or []
    if not all(isinstance(t, str) for t in [*add, *remove]):
        return error(400, "'add' and 'remove' must be lists of strings")
    result = await _call(queries.tag_run, request.app.state.db, request.path_params["run_id"], add, remove)
    return JSONResponse({"run_id": request.path_params["run_id"], "tags": result})


async def annotation(request: Request) -> Response:
    await require(request, Scope.admin)
    data = await _json_body(request)
    text = data.get("text")
    if text is not None and not isinstance(text, str):
        return error(400, "'text' must be a string or null")
    await _call(queries.annotate_run, request.app.state.db, request.path_params["run_id"], text)
    return JSONResponse({"run_id": request.path_params["run_id"], "annotation": text or None})


def compare_args(request: Request) -> tuple[list[str], bool]:
    names = [n for part in request.query_params.getlist("runs") for n in part.split(",") if n.strip()]
    if len(names) < 2:
        raise HTTPException(400, "compare needs at least two runs: ?runs=BASELINE,CANDIDATE")
    names = [n.strip() for n in names]
    if request.query_params.get("order") == "oldest":  # picked from the runs list: oldest first
        order = queries.start_times(request.app.state.db, names)
        names.sort(key=lambda n: order.get(n) or 0.0)
    return names, request.query_params.get("regressions") in ("1", "true", "on")


async def compare(request: Request) -> Response:
    await require(request, Scope.read, cookie=True)
    names, regressions = compare_args(request)
    return JSONResponse(await _call(queries.compare_runs, request.app.state.db, names,
                                    regressions_only=regressions, page=_int(request, "page", 1),
                                    per_page=_int(request, "per_page", 50)))


async def trends(request: Request) -> Response:
    await require(request, Scope.read, cookie=True)
    metric = request.query_params.get("metric") or "accuracy"
    if metric not in queries.TREND_METRICS:
        return error(400, f"metric must be one of {', '.join(queries.TREND_METRICS)}")
    return JSONResponse(await _call(queries.trends, request.app.state.db, metric, run_filter(request)))


async def export(request: Request) -> Response:
    await require(request, Scope.read, cookie=True)
    fmt = request.path_params["fmt"]
    if fmt not in exports.FORMATS:
        return error(404, f"unknown export format {fmt!r} (csv, pdf or zip)")
    run_id = request.path_params["run_id"]
    folder = exports.temp_folder()
    try:
        out = await _call(exports.export, request.app.state.db, run_id, fmt, Path(folder.name),
                          request.app.state.settings.signing_key)
    except ExportError as exc:
        folder.cleanup()
        return error(422, str(exc))
    except BaseException:
        folder.cleanup()
        raise
    return FileResponse(out, media_type=exports.FORMATS[fmt], filename=out.name,
                        background=BackgroundTask(folder.cleanup))


async def save_upload(upload: UploadFile, folder: Path, name: str, limit: int) -> Path:
    path = folder / name
    size = 0
    with path.open("wb") as handle:
        while chunk := await upload.read(1 << 20):
            size += len(chunk)
            if size > limit:
                raise HTTPException(413, f"the upload is over {limit} bytes (--max-upload-mb)")
            handle.write(chunk)
    return path


async def verify_upload(request: Request, csrf: bool = False) -> exports.VerifyResult:
    settings = request.app.state.settings
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > settings.max_upload_bytes + 65536:
        raise HTTPException(413, f"the upload is over {settings.max_upload_bytes} bytes "
                                 "(--max-upload-mb)")
    async with request.form(max_files=2, max_fields=10) as form:
        if csrf:
            from pytest_llmbench.server.auth import CSRF_FIELD, check_csrf

            check_csrf(request, form.get(CSRF_FIELD))
        bundle, key = form.get("bundle"), form.get("public_key")
        if not isinstance(bundle, UploadFile):
            raise HTTPException(400, "upload the export as the multipart field 'bundle'")
        with tempfile.TemporaryDirectory(prefix="llmbench-verify-") as tmp:
            path = await save_upload(bundle, Path(tmp), "bundle.zip", settings.max_upload_bytes)
            key_path = None
            if isinstance(key, UploadFile) and key.filename:
                key_path = await save_upload(key, Path(tmp), "key.pem", 64 * 1024)
            return await run_in_threadpool(exports.verify, path, key_path, settings.trusted_keys)


async def verify(request: Request) -> Response:
    await require(request, Scope.read, cookie=True)
    return JSONResponse((await verify_upload(request)).to_dict())


routes = [
    Route("/api/ingest", ingest, methods=["POST"]),
    Route("/api/runs", runs),
    Route("/api/runs/{run_id}", run, methods=["GET", "DELETE"]),
    Route("/api/runs/{run_id}/items", items),
    Route("/api/runs/{run_id}/items/{item_id:int}", item),
    Route("/api/runs/{run_id}/tags", tags, methods=["POST"]),
    Route("/api/runs/{run_id}/annotation", annotation, methods=["POST"]),
    Route("/api/runs/{run_id}/export.{fmt}", export),
    Route("/api/compare", compare),
    Route("/api/trends", trends),
    Route("/api/exports/verify", verify, methods=["POST"]),
]
