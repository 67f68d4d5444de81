"""Who may do what: bearer API keys with scopes, read access open only on loopback by
default, and CSRF tokens for the pages' forms (double-submit cookie, SameSite=Strict).

API requests carry the key in ``Authorization: Bearer`` (or ``X-API-Key``), which a
browser never adds by itself, so they need no CSRF token. Pages may carry it in an
HttpOnly cookie set by the login form; a form POST then must echo the CSRF cookie.
"""

from __future__ import annotations

import hmac
import secrets

from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request

from pytest_llmbench.server.keys import KeyInfo, allows, lookup
from pytest_llmbench.server.models import Scope

KEY_COOKIE = "llmbench_key"
CSRF_COOKIE = "llmbench_csrf"
CSRF_FIELD = "csrf_token"


def header_key(request: Request) -> str | None:
    auth = request.headers.get("authorization", "")
    if auth[:7].lower() == "bearer " and auth[7:].strip():
        return auth[7:].strip()
    return request.headers.get("x-api-key") or None


async def key_of(request: Request, *, cookie: bool) -> KeyInfo | None:
    raw = header_key(request) or (request.cookies.get(KEY_COOKIE) if cookie else None)
    if not raw:
        return None
    found = await run_in_threadpool(lookup, request.app.state.db, raw)
    if found is None:
        raise HTTPException(401, "the API key is unknown or revoked")
    return found


async def require(request: Request, scope: Scope, *, cookie: bool = False) -> KeyInfo | None:
    """The request's key when it grants ``scope``; reads pass without one when open."""
    key = await key_of(request, cookie=cookie)
    if key is None:
        if scope is Scope.read and request.app.state.settings.read_open:
            return None
        raise HTTPException(401, f"this needs an API key with scope '{scope.value}' "
                                 "(Authorization: Bearer KEY)")
    if not allows(key.scope, scope):
        raise HTTPException(403, f"the key '{key.prefix}...' has scope '{key.scope.value}', "
                                 f"this needs '{scope.value}'")
    return key


def csrf_token(request: Request) -> str:
    """The token forms embed (the cookie's value, made on first use)."""
    token = request.cookies.get(CSRF_COOKIE) or getattr(request.state, "new_csrf", None)
    if not token:
        token = secrets.token_urlsafe(24)
        request.state.new_csrf = token
    return token


def check_csrf(request: Request, submitted: object) -> None:
    cookie = request.cookies.get(CSRF_COOKIE)
    if not cookie or not isinstance(submitted, str) or not hmac.compare_digest(cookie, submitted):
        raise HTTPException(403, "the form's CSRF token is missing or wrong: reload the page")
