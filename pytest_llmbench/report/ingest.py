"""Post a run's spooled batches to an ingest endpoint: retries with backoff that honour
``Retry-After``, an ``Idempotency-Key`` per batch, and a bounded total wait.

A failure never loses results: the batches stay in the run directory's spool for
``llmbench ingest RUN``. The API key travels only in the request header; messages
name the URL without its query or user info, the status and the error type.
"""

from __future__ import annotations

import base64
import json
import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import httpx

from pytest_llmbench.errors import ConfigError
from pytest_llmbench.providers.retry_after import parse_retry_after
from pytest_llmbench.redaction import remember_secret, scrub, strip_userinfo
from pytest_llmbench.report.ingest_spool import (
    Spool,
    SpooledBatch,
    payload_from_run_dir,
    redact_url,
    split_batches,
)
from pytest_llmbench.results.run_dir import RUN_FILE

log = logging.getLogger(__name__)
KEY_ENV = "INGEST_API_KEY"
RETRYABLE = frozenset({408, 425, 429, 500, 502, 503, 504})
ATTEMPT_TIMEOUT_MAX = 30.0
BACKOFF_BASE = 0.5
BACKOFF_MAX = 10.0


def check_url(url: str, source: str, key: str | None = None) -> str:
    """A usable http(s) URL, or a one-line error naming where it came from. A URL with
    ``user:password`` and an ingest key as well is ambiguous: refused, never silently
    sent with the password in place of the key."""
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, TypeError) as exc:
        raise ConfigError(f"{source}: invalid ingest URL ({scrub(str(exc))})") from None
    shown = f"{parsed.scheme}://{parsed.host}" + (f":{parsed.port}" if parsed.port else "")
    if parsed.scheme not in ("http", "https") or not parsed.host:
        raise ConfigError(f"{source}: the ingest URL must be http:// or https:// with a host "
                          f"(got {parsed.scheme + '://' if parsed.scheme else 'no scheme'}"
                          f"{', no host' if not parsed.host else ''})")
    if parsed.port is not None and not 0 < parsed.port < 65536:
        raise ConfigError(f"{source}: invalid ingest URL {shown}: port {parsed.port} is not in "
                          "1-65535")
    if parsed.userinfo and key:
        raise ConfigError(f"{source}: the ingest URL carries user:password and {KEY_ENV} is set "
                          "too; use one (the key is sent as the bearer token)")
    return url


@dataclass
class IngestResult:
    total: int = 0
    acked: int = 0
    messages: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.total > 0 and self.acked == self.total


@dataclass
class IngestTarget:
    url: str
    key: str | None = None
    header: str = "Authorization"
    timeout: float = 60.0
    basic: tuple[str, str] | None = None
    """``user:password`` taken out of ``url`` (sent as HTTP Basic when there is no key)."""

    def __post_init__(self) -> None:
        """The URL is kept (spooled, printed) without its user info; the key and the
        password join the run's known secrets."""
        remember_secret(self.key)
        parsed = httpx.URL(self.url)
        if parsed.userinfo:
            check_url(self.url, "ingest URL", self.key)
            self.basic = (unquote(parsed.username), unquote(parsed.password))
            self.url = strip_userinfo(self.url)

    def headers(self) -> dict[str, str]:
        headers = {"Content-Type": "application/json", "User-Agent": "pytest-llmbench-ingest"}
        if self.key:
            is_auth = self.header.lower() == "authorization"
            headers[self.header] = f"Bearer {self.key}" if is_auth else self.key
        elif self.basic is not None:
            token = base64.b64encode(":".join(self.basic).encode()).decode()
            headers["Authorization"] = f"Basic {token}"
        return headers


class _Sender:
    def __init__(self, target: IngestTarget, sleep: Callable[[float], None]) -> None:
        self.target = target
        self.sleep = sleep
        self.deadline = time.monotonic() + target.timeout
        self.attempt_timeout = min(ATTEMPT_TIMEOUT_MAX, max(1.0, target.timeout / 4))
        self.where = redact_url(target.url)

    def post(self, client: httpx.Client, spool: Spool, batch: SpooledBatch) -> tuple[bool, bool]:
        """(acknowledged, worth going on with the next batch)."""
        body = spool.body(batch)
        headers = {**self.target.headers(), "Idempotency-Key": batch.key}
        tries = 0
        while True:
            remaining = self.deadline - time.monotonic()
            if remaining <= 0:
                batch.last_error = (f"{batch.last_error or 'no answer'}; gave up after "
                                    f"{self.target.timeout:g}s (--llmbench-ingest-timeout)")
                return False, False
            tries += 1
            batch.attempts += 1
            wait: float | None = None
            try:
                response = client.post(self.target.url, content=body, headers=headers,
                                       timeout=min(remaining, self.attempt_timeout))
            except httpx.TransportError as exc:  # timeouts included
                batch.last_error = f"{type(exc).__name__} from {self.where}"
                log.debug("ingest post %s batch %s try %d: %s", self.where, batch.key[:12],
                          tries, batch.last_error)
            else:
                log.debug("ingest post %s batch %s try %d: HTTP %d (%d bytes)", self.where,
                          batch.key[:12], tries, response.status_code, len(body))
                if response.is_success:
                    return True, True
                batch.last_error = f"HTTP {response.status_code} from {self.where}"
                if response.status_code == 413:
                    batch.rejected = True
                    batch.last_error += (f" (payload too large: {batch.records} records, "
                                         f"{len(body)} bytes; resend smaller batches with "
                                         f"llmbench ingest {spool.dir.parent} --batch-size "
                                         f"{max(1, batch.records // 2)})")
                if response.status_code not in RETRYABLE:
                    return False, False
                wait = parse_retry_after(response.headers)
            if wait is None:
                wait = min(BACKOFF_MAX, BACKOFF_BASE * 2 ** (tries - 1)) * random.uniform(0.5, 1.0)
            wait = max(0.0, min(wait, self.deadline - time.monotonic()))
            log.debug("ingest retry %s batch %s in %.2fs", self.where, batch.key[:12], wait)
            self.sleep(wait)


def send(spool: Spool, target: IngestTarget,
         sleep: Callable[[float], None] = time.sleep) -> IngestResult:
    """Post every pending batch in order, stopping at the first that cannot be delivered."""
    sender = _Sender(target, sleep)
    result = IngestResult(total=len(spool.batches))
    with httpx.Client(follow_redirects=False) as client:
        for batch in spool.pending():
            acked, go_on = sender.post(client, spool, batch)
            if acked:
                spool.acknowledge(batch)
            else:
                spool.save()
                result.messages.append(f"ingest batch {batch.index}: {batch.last_error}")
            if not go_on:
                break
    result.acked = sum(1 for b in spool.batches if b.status == "acked")
    if result.ok:
        result.messages.append(f"ingest: {result.acked} batch(es) acknowledged by {sender.where}")
    else:
        result.messages.append(
            f"ingest: {result.acked}/{result.total} batches acknowledged by {sender.where}; "
            f"the rest are spooled in {spool.dir} (resend: llmbench ingest {spool.dir.parent})")
    return result


def ingest_payload(run_path: Path, payload: dict[str, Any], target: IngestTarget,
                   batch_size: int) -> IngestResult:
    """Spool a fresh payload into the run directory, then post it."""
    spool = Spool(run_path)
    spool.create(str(payload.get("run_id")), split_batches(payload, batch_size), target.url)
    return send(spool, target)


def resend(run_path: Path, target: IngestTarget, batch_size: int,
           resplit: bool = False) -> IngestResult:
    """``llmbench ingest RUN``: post what the spool still holds, or the whole run when it
    was never posted. With ``resplit`` (an explicit ``--batch-size``) the pending batches
    the server refused are first cut to that size."""
    spool = Spool(run_path)
    if not spool.exists:
        return ingest_payload(run_path, payload_from_run_dir(run_path), target, batch_size)
    spool.load()
    if resplit:
        run_id = json.loads((run_path / RUN_FILE).read_text(encoding="utf-8")).get("run_id")
        spool.resplit(str(run_id or run_path.name), batch_size)
    if not spool.pending():
        return IngestResult(total=len(spool.batches), acked=len(spool.batches),
                            messages=[f"ingest: all {len(spool.batches)} batch(es) were "
                                      "already acknowledged"])
    return send(spool, target)
