"""The HTML pages: runs, run, item, compare, trends, verify and the key login. Each reads
the same functions as its JSON twin under ``/api/``; forms that change state carry a
CSRF token and need an admin key (from the login cookie)."""

from __future__ import annotations

import datetime as dt
import math
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from pytest_llmbench.redaction import Scrubber
from pytest_llmbench.server import api, charts, queries
from pytest_llmbench.server.auth import CSRF_FIELD, KEY_COOKIE, check_csrf, csrf_token, key_of, require
from pytest_llmbench.server.keys import lookup
from pytest_llmbench.server.models import Scope

_env = Environment(loader=FileSystemLoader(Path(__file__).parent / "templates"),
                   autoescape=select_autoescape(default=True, default_for_string=True))


def _when(stamp: Any) -> str:
    if not isinstance(stamp, int | float):
        return ""
    return dt.datetime.fromtimestamp(stamp, dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _num(value: Any, fmt: str = "{:.3g}") -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "—"
    if isinstance(value, bool):
        return str(value)
    return fmt.format(value) if isinstance(value, int | float) else str(value)


def _pct(value: Any) -> str:
    return _num(value, "{:.1%}")


_env.filters.update(when=_when, num=_num, pct=_pct)


def render(request: Request, name: str, status: int = 200, **context: Any) -> HTMLResponse:
    template = _env.get_template(name)
    html = template.render(request=request, csrf=csrf_token(request), csrf_field=CSRF_FIELD,
                           signed_in=bool(request.cookies.get(KEY_COOKIE)),
                           query=lambda **kw: _query(request, **kw), **context)
    return HTMLResponse(html, status_code=status)


def _query(request: Request, **changes: Any) -> str:
    items = [(k, v) for k, v in request.query_params.multi_items() if k not in changes]
    items += [(k, str(v)) for k, v in changes.items() if v is not None]
    return "?" + urlencode([(k, v) for k, v in items if v != ""])


def error_page(request: Request, status: int, message: str) -> HTMLResponse:
    return render(request, "error.html", status=status, status_code=status, message=message)


async def runs_page(request: Request) -> Response:
    await require(request, Scope.read, cookie=True)
    data = await run_in_threadpool(queries.list_runs, request.app.state.db, api.run_filter(request))
    return render(request, "runs.html", data=data, q=request.query_params)


async def run_page(request: Request) -> Response:
    await require(request, Scope.read, cookie=True)
    run_id = request.path_params["run_id"]
    db = request.app.state.db
    detail = await api._call(queries.run_detail, db, run_id)
    page = await api._call(queries.items_page, db, run_id, api.item_filter(request))
    return render(request, "run.html", run=detail, page=page, q=request.query_params,
                  bars=charts.accuracy_bars(detail["summary"]))


async def item_page(request: Request) -> Response:
    await require(request, Scope.read, cookie=True)
    item = await api._call(queries.item_detail, request.app.state.db, request.path_params["run_id"],
                           request.path_params["item_id"])
    scrub = Scrubber()
    record = item["record"]
    fields = [(k, v) for k, v in record.items()
              if k not in ("prompt", "response", "expected", "score_details", "metrics", "reasoning")]
    return render(request, "item.html", item=item, record=record, fields=fields, scrub=scrub,
                  pretty=_pretty)


def _pretty(value: Any) -> str:
    import json

    return value if isinstance(value, str) else json.dumps(value, indent=2, ensure_ascii=False, default=str)


async def compare_page(request: Request) -> Response:
    await require(request, Scope.read, cookie=True)
    names = [n.strip() for part in request.query_params.getlist("runs") for n in part.split(",")
             if n.strip()]
    if len(names) < 2:
        data = await run_in_threadpool(queries.list_runs, request.app.state.db,
                                       queries.RunFilter(per_page=100))
        return render(request, "compare.html", doc=None, runs=data["runs"], names=names)
    names, regressions = api.compare_args(request)
    doc = await api._call(queries.compare_runs, request.app.state.db, names,
                          regressions_only=regressions, page=api._int(request, "page", 1))
    return render(request, "compare.html", doc=doc, names=names, regressions=regressions, runs=[])


async def trends_page(request: Request) -> Response:
    await require(request, Scope.read, cookie=True)
    metric = request.query_params.get("metric") or "accuracy"
    if metric not in queries.TREND_METRICS:
        raise HTTPException(400, f"metric must be one of {', '.join(queries.TREND_METRICS)}")
    data = await api._call(queries.trends, request.app.state.db, metric, api.run_filter(request))
    for series in data["series"]:
        series["chart"] = charts.trend_line(series["points"])
    return render(request, "trends.html", data=data, metrics=queries.TREND_METRICS,
                  q=request.query_params)


async def verify_page(request: Request) -> Response:
    await require(request, Scope.read, cookie=True)
    if request.method == "GET":
        return render(request, "verify.html", result=None)
    result = await api.verify_upload(request, csrf=True)
    return render(request, "verify.html", result=result)


async def admin_action(request: Request) -> Response:
    run_id = request.path_params["run_id"]
    async with request.form(max_files=0, max_fields=10, max_part_size=64 * 1024) as form:
        check_csrf(request, form.get(CSRF_FIELD))
        await require(request, Scope.admin, cookie=True)
        action, value = form.get("action"), str(form.get("value") or "")
    db = request.app.state.db
    if action == "tag":
        await api._call(queries.tag_run, db, run_id, value.split(), [])
    elif action == "untag":
        await api._call(queries.tag_run, db, run_id, [], value.split())
    elif action == "annotate":
        await api._call(queries.annotate_run, db, run_id, value.strip() or None)
    elif action == "delete":
        await api._call(queries.delete_run, db, run_id)
        return RedirectResponse("/", status_code=303)
    else:
        raise HTTPException(400, "action must be tag, untag, annotate or delete")
    return RedirectResponse(f"/runs/{run_id}", status_code=303)


async def login(request: Request) -> Response:
    if request.method == "GET":
        key = await key_of(request, cookie=True) if request.cookies.get(KEY_COOKIE) else None
        return render(request, "login.html", key=key, message=None)
    async with request.form(max_files=0, max_fields=5, max_part_size=4096) as form:
        check_csrf(request, form.get(CSRF_FIELD))
        raw = str(form.get("key") or "").strip()
    found = await run_in_threadpool(lookup, request.app.state.db, raw) if raw else None
    if found is None:
        return render(request, "login.html", status=401, key=None,
                      message="that key is unknown or revoked")
    response = RedirectResponse("/", status_code=303)
    response.set_cookie(KEY_COOKIE, raw, httponly=True, samesite="strict",
                        secure=request.url.scheme == "https")
    return response


async def logout(request: Request) -> Response:
    async with request.form(max_files=0, max_fields=5) as form:
        check_csrf(request, form.get(CSRF_FIELD))
    response = RedirectResponse("/", status_code=303)
    response.delete_cookie(KEY_COOKIE)
    return response


routes = [
    Route("/", runs_page),
    Route("/runs/{run_id}", run_page),
    Route("/runs/{run_id}/items/{item_id:int}", item_page),
    Route("/runs/{run_id}/admin", admin_action, methods=["POST"]),
    Route("/compare", compare_page),
    Route("/trends", trends_page),
    Route("/verify", verify_page, methods=["GET", "POST"]),
    Route("/login", login, methods=["GET", "POST"]),
    Route("/logout", logout, methods=["POST"]),
]
