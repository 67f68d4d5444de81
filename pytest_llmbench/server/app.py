"""The ASGI app: ``create_app(settings)`` opens the database, runs the migrations and
mounts the JSON API and the pages. The run service (issue 21) adds its routes and
workers through ``extra_routes`` and ``app.state.db``."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from pytest_llmbench.server import api, pages
from pytest_llmbench.server.auth import CSRF_COOKIE
from pytest_llmbench.server.db import Database
from pytest_llmbench.server.settings import Settings

MAINTENANCE_ENV = "LLMBENCH_MAINTENANCE"
_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"same-origin"),
    (b"content-security-policy",
     b"default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
     b"script-src 'self' 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'"),
]


class SecurityHeaders:
    """Hardening headers on every answer, and the CSRF cookie a page just made."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        state = scope.setdefault("state", {})

        async def wrapped(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                names = {name for name, _ in headers}
                headers += [h for h in _HEADERS if h[0] not in names]
                token = state.get("new_csrf")
                if token:
                    headers.append((b"set-cookie", f"{CSRF_COOKIE}={token}; Path=/; HttpOnly; "
                                                   "SameSite=Strict".encode()))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, wrapped)


async def http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    if request.url.path.startswith("/api/"):
        return JSONResponse({"error": exc.detail}, status_code=exc.status_code,
                            headers=getattr(exc, "headers", None))
    return pages.error_page(request, exc.status_code, str(exc.detail))


def create_app(settings: Settings, extra_routes: Sequence[BaseRoute] = (),
               db: Database | None = None) -> Starlette:
    database = db or Database(settings.database_url)
    if settings.migrate:
        database.migrate()

    @asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[dict[str, Any]]:
        yield {}
        if db is None:
            database.dispose()

    from pytest_llmbench.server import runs_api

    app = Starlette(routes=[*runs_api.routes, *api.routes, *pages.routes, *extra_routes],
                    middleware=[Middleware(SecurityHeaders)],
                    exception_handlers={HTTPException: http_error}, lifespan=lifespan)
    app.state.db = database
    app.state.settings = settings
    if os.environ.get(MAINTENANCE_ENV, "") not in ("", "0"):
        from pytest_llmbench.server.jobs import set_maintenance

        set_maintenance(database, True)
    return app
