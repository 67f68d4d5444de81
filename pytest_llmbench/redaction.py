"""Redaction of every credential the run knows, before anything is written or printed.

The run-level set of known secrets (:func:`remember_secret`: provider keys from the env
and the models config, the ingest key, the password of any URL) plus the values of
secret-named environment variables are replaced with ``[redacted]`` by :func:`scrub`,
which records, error lines and run.json pass through where they are made; a report also
shows free text (prompts, responses, user sections) that passes ``Scrubber`` again.
``Scrubber`` removes strings shaped like known API keys and those values. Each pattern
is tried only when its cheap literal prefix occurs in the text, so scrubbing 100 MB of
records costs a few substring scans, not a regex pass.
"""

from __future__ import annotations

import json
import os
import re
import threading
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit, urlunsplit

REDACTED = "[redacted]"
SECRET_ENV_SUFFIXES = ("_API_KEY", "_TOKEN", "_SECRET", "_SECRET_KEY", "_ACCESS_KEY", "_PASSWORD")
MIN_SECRET_LEN = 8  # shorter env values ("1", "true") would blank ordinary text

# (literal prefixes that must occur for the pattern to match, pattern)
_PATTERNS: tuple[tuple[tuple[str, ...], re.Pattern[str]], ...] = (
    (("sk-",), re.compile(r"(?<![A-Za-z0-9])sk-(?:ant-|proj-)?[A-Za-z0-9_\-]{16,}")),
    (("AKIA", "ASIA"), re.compile(r"(?<![A-Z0-9])(?:AKIA|ASIA)[0-9A-Z]{16}(?![0-9A-Z])")),
    (("AIza",), re.compile(r"(?<![A-Za-z0-9])AIza[0-9A-Za-z_\-]{35}")),
    (("ghp_", "gho_", "ghs_", "ghu_", "github_pat_"),
     re.compile(r"(?<![A-Za-z0-9])(?:gh[opsu]_|github_pat_)[A-Za-z0-9_]{20,}")),
    (("hf_",), re.compile(r"(?<![A-Za-z0-9])hf_[A-Za-z0-9]{30,}")),
    (("earer", "EARER"),
     re.compile(r"(?i)(bearer)(\s+|\\u0020|%20)[A-Za-z0-9._~+/\-]{12,}=*")),
    (("://",), _USERINFO := re.compile(r"(?<=://)[^\s/?#@:\"'<>]+(?::[^\s/?#@\"'<>]*)?@")),
)
"""The last: the ``user:password@`` of a URL is dropped, so the URL still reads."""


def secret_env_values(environ: Mapping[str, str] | None = None) -> list[str]:
    """Values of env vars named like secrets (``*_API_KEY``, ``*_TOKEN``, ``*_SECRET``...)."""
    env = _environ() if environ is None else environ
    return [value for name, value in env.items()
            if name.upper().endswith(SECRET_ENV_SUFFIXES) and len(value) >= MIN_SECRET_LEN]


def _environ() -> dict[str, str]:
    """A copy of ``os.environ`` that another thread changing it cannot break (pytest sets
    and pops ``PYTEST_CURRENT_TEST`` while the engine's thread scrubs)."""
    for _ in range(10):
        try:
            return dict(os.environ)
        except (KeyError, RuntimeError):
            continue
    return {}


_KNOWN: set[str] = set()
_LOCK = threading.Lock()
_CACHE: list[Any] = [None, None]  # (key of the inputs, Scrubber)


def remember_secret(value: object) -> None:
    """Add a credential to the run's known secrets (too short a value is ignored: it
    would blank ordinary text; so are None and non-strings)."""
    if isinstance(value, str) and len(value) >= MIN_SECRET_LEN:
        with _LOCK:
            _KNOWN.add(value)


_SECRET_NAME = re.compile(r"(key|token|secret|password|passwd|credentials?|authorization)$",
                          re.IGNORECASE)
"""A secret setting's name ends so (``api_key``, ``auth_token``; not ``max_tokens``)."""


def remember_settings(settings: Mapping[str, Any]) -> None:
    """Remember the secret-named values (``api_key``, ``auth_token``...) of a models-config
    mapping, and the password of any URL in it, nested mappings included."""
    for name, value in settings.items():
        if isinstance(value, Mapping):
            remember_settings(value)
        elif isinstance(value, str):
            if _SECRET_NAME.search(str(name)):
                remember_secret(value)
            elif "://" in value and "@" in value:
                strip_userinfo(value)


def known_secrets() -> frozenset[str]:
    return frozenset(_KNOWN)


def current_scrubber() -> Scrubber:
    """The Scrubber of the run's known secrets and today's secret env values (rebuilt
    only when either changed)."""
    env = tuple(secret_env_values())
    key = (env, len(_KNOWN))
    cached = _CACHE
    if cached[0] != key:
        with _LOCK:
            extra = tuple(_KNOWN)
        cached[1], cached[0] = Scrubber(environ={}, extra=(*env, *extra)), key
    scrubber: Scrubber = cached[1]
    return scrubber


def scrub(text: str) -> str:
    """``text`` with every known secret, secret env value and key-shaped string redacted."""
    return current_scrubber()(text)


def scrub_value(value: Any, scrubber: Scrubber | None = None) -> Any:
    """A JSON-like value with :func:`scrub` applied to every string value."""
    scrubber = scrubber or current_scrubber()
    if isinstance(value, str):
        return scrubber(value)
    if isinstance(value, dict):  # keys are field names, not free text
        return {k: scrub_value(v, scrubber) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [scrub_value(v, scrubber) for v in value]
    return value


def strip_userinfo(url: str) -> str:
    """``url`` without ``user:password@`` (the password is remembered as a secret first)."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return scrub(url)
    if parts.username is None and parts.password is None:
        return url
    remember_secret(parts.password)
    remember_secret(parts.username)
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    if parts.port is not None:
        host = f"{host}:{parts.port}"
    return urlunsplit((parts.scheme, host, parts.path, parts.query, parts.fragment))


class Scrubber:
    """Replace key-shaped strings and secret env values with ``[redacted]``."""

    def __init__(self, environ: Mapping[str, str] | None = None,
                 extra: tuple[str, ...] = ()) -> None:
        values = {*secret_env_values(environ), *(v for v in extra if len(v) >= MIN_SECRET_LEN)}
        # as written inside JSON too (a quote or backslash in a value is escaped there)
        values |= {json.dumps(v, ensure_ascii=False)[1:-1] for v in values}
        self.values = sorted(values, key=len, reverse=True)  # a value containing another first

    def __call__(self, text: str) -> str:
        if len(text) < MIN_SECRET_LEN:  # shorter than any value or pattern it redacts
            return text
        for value in self.values:
            if value in text:
                text = text.replace(value, REDACTED)
        for prefixes, pattern in _PATTERNS:
            if any(prefix in text for prefix in prefixes):
                text = pattern.sub(_replacement, text)
        return text


def _replacement(match: re.Match[str]) -> str:
    if match.re is _USERINFO:
        return ""
    if match.re.groups == 2:  # bearer: keep the scheme word so the text still reads
        return f"{match.group(1)}{match.group(2)}{REDACTED}"
    return REDACTED


__all__ = ["REDACTED", "Scrubber", "current_scrubber", "known_secrets", "remember_secret",
           "remember_settings", "scrub", "scrub_value", "secret_env_values", "strip_userinfo"]
