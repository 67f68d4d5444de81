"""Rate limits and the budget held across machines: every shard of a run draws from the same
buckets and ledger in a Redis server (``--llmbench-coordinator redis://HOST:PORT/DB``).

The bucket is the same GCRA as the file bucket of one machine (``calls.ratelimit``), run as one
Lua script per operation so each read-modify-write is atomic in Redis, on Redis's clock (shards
on machines with skewed clocks still agree on when a slot starts). Keys live under
``llmbench:<run_id>:`` and expire a day after their last use.

A shard that cannot reach the coordinator fails at start with one line; a coordinator lost mid-run
makes the calls that need it errors, never unlimited calls.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit, urlunsplit

from pytest_llmbench.calls.ratelimit import COOLDOWN_S, DECREASE, FLOOR, RECOVER_PER_S, RateLimit
from pytest_llmbench.errors import ConfigError

if TYPE_CHECKING:
    import redis

TTL_MS = 24 * 3600 * 1000
OPTION = "--llmbench-coordinator"

_BUCKET_LUA = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1e6
local op, rpm, tpm = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3])
local a, b = tonumber(ARGV[4]), tonumber(ARGV[5])
local h = redis.call('HMGET', KEYS[1], 'nr', 'nt', 'f', 'fat', 'cut')
local nr, nt = tonumber(h[1]) or 0, tonumber(h[2]) or 0
local f, fat, cut = tonumber(h[3]) or 1, tonumber(h[4]) or 0, tonumber(h[5]) or 0
if f < 1 then f = math.min(1, f + math.max(0, now - fat) * tonumber(ARGV[6])) end
fat = now
local out = 0
if op == 'reserve' then
  local tokens, unless = a, b
  if unless >= 0 and cut <= unless then return {'0', tostring(now)} end
  local start = now
  if rpm > 0 then start = math.max(start, nr) end
  if tpm > 0 and tokens > 0 then start = math.max(start, nt) end
  if rpm > 0 then nr = math.max(nr, start) + 60 / (rpm * f) end
  if tpm > 0 and tokens > 0 then nt = math.max(nt, start) + tokens * 60 / (tpm * f) end
  out = start - now
elseif op == 'settle' then
  if tpm > 0 then nt = nt + (b - a) * 60 / (tpm * f) end
elseif op == 'throttled' then
  if now - cut >= tonumber(ARGV[7]) then
    f = math.max(tonumber(ARGV[8]), f * tonumber(ARGV[9]))
    cut = now
  end
  local hold = now + math.max(a, 0)
  nr = math.max(nr, hold)
  nt = math.max(nt, hold)
elseif op == 'effective' then
  out = f
end
redis.call('HSET', KEYS[1], 'nr', tostring(nr), 'nt', tostring(nt), 'f', tostring(f),
           'fat', tostring(fat), 'cut', tostring(cut))
redis.call('PEXPIRE', KEYS[1], ARGV[10])
return {tostring(out), tostring(now)}
"""


def redact_url(url: str) -> str:
    """The URL without its password (it may carry one: redis://:secret@host)."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.hostname or ""
    netloc = f"{parts.username or ''}:***@{host}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit(parts._replace(netloc=netloc))


def connect(url: str) -> redis.Redis:
    """A client for the coordinator, checked with a PING; a ConfigError naming the option
    and the (redacted) URL when it cannot be used."""
    if urlsplit(url).scheme not in ("redis", "rediss", "unix"):
        raise ConfigError(f"{OPTION} {redact_url(url)!r}: expected redis://HOST:PORT/DB "
                          "(or rediss:// or unix://)")
    try:
        import redis  # noqa: PLC0415 - only sharded runs need it
    except ImportError:
        raise ConfigError(f"{OPTION} needs the redis client: pip install "
                          "'pytest-llmbench[distributed]'") from None
    client = redis.Redis.from_url(url, socket_timeout=10, socket_connect_timeout=5)
    try:
        client.ping()
    except redis.RedisError as exc:
        raise ConfigError(f"{OPTION} {redact_url(url)}: cannot reach the coordinator "
                          f"({type(exc).__name__}: {exc}); refusing to run without the shared "
                          "limits") from None
    return client


class RedisBucket:
    """The file bucket's interface (``reserve``/``settle``/``throttled``/``effective``) on a
    Redis hash shared by every machine of the run."""

    def __init__(self, client: redis.Redis, key: str, limit: RateLimit) -> None:
        self.client = client
        self.key = key
        self.limit = limit
        self._script = client.register_script(_BUCKET_LUA)
        _, server_now = self._call("effective")
        self._offset = server_now - time.time()  # server clock - ours

    def _call(self, op: str, a: float = 0.0, b: float = 0.0) -> tuple[float, float]:
        out, now = self._script(keys=[self.key], args=[
            op, self.limit.rpm or 0, self.limit.tpm or 0, a, b, RECOVER_PER_S, COOLDOWN_S, FLOOR,
            DECREASE, TTL_MS])
        return float(out), float(now)

    def reserve(self, tokens: int = 0, unless_since: float | None = None) -> float:
        since = -1.0 if unless_since is None else unless_since + self._offset
        return max(0.0, self._call("reserve", tokens, since)[0])

    def settle(self, reserved: int, used: int) -> None:
        if self.limit.tpm and used != reserved:
            self._call("settle", reserved, used)

    def throttled(self, retry_after: float | None) -> None:
        self._call("throttled", retry_after or 0.0)

    def effective(self) -> float:
        return self._call("effective")[0]


class RedisLedger:
    """The budget's per-process ledgers as fields of one Redis hash (``calls.budget``)."""

    def __init__(self, client: redis.Redis, key: str) -> None:
        self.client = client
        self.key = key

    def write(self, worker: str, entry: dict[str, Any]) -> None:
        self.client.hset(self.key, worker, json.dumps(entry))
        self.client.pexpire(self.key, TTL_MS)

    def entries(self) -> list[dict[str, Any]]:
        raw: dict[bytes, bytes] = self.client.hgetall(self.key)  # type: ignore[assignment]
        out = []
        for value in raw.values():
            try:
                out.append(json.loads(value))
            except ValueError:
                continue
        return out


def run_key(run_id: str, *parts: str) -> str:
    return ":".join(("llmbench", run_id, *parts))


def bucket_maker(url: str, run_id: str) -> Callable[[str, RateLimit], RedisBucket]:
    """What ``RateLimits`` makes its buckets with when the run has a coordinator."""
    client = connect(url)

    def make(key: str, limit: RateLimit) -> RedisBucket:
        return RedisBucket(client, run_key(run_id, "limit", key), limit)

    return make


START_DELAY_S = 1.0
"""From the last host's arrival to the common start: every host reads the instant before."""


def start_barrier(client: redis.Redis, key: str, hosts: int, timeout: float = 600.0) -> float:
    """Wait until ``hosts`` hosts have arrived at ``key``; returns the common start instant
    on this machine's clock (the last host to arrive sets it, on Redis's clock)."""
    server_now = _server_time(client)
    offset = server_now - time.time()
    arrived = int(client.incr(f"{key}:arrived"))
    client.pexpire(f"{key}:arrived", TTL_MS)
    if arrived == hosts:
        client.set(f"{key}:start", repr(_server_time(client) + START_DELAY_S), px=TTL_MS)
    deadline = time.monotonic() + timeout
    while True:
        value = client.get(f"{key}:start")
        if value is not None:
            return float(value) - offset
        if time.monotonic() > deadline:
            seen = client.get(f"{key}:arrived")
            raise ConfigError(f"serving across hosts: only {int(seen or 0)} of {hosts} hosts "
                              f"reached the start within {timeout:.0f} s")
        time.sleep(0.02)


def _server_time(client: redis.Redis) -> float:
    seconds, micros = client.time()
    return float(seconds) + float(micros) / 1e6
