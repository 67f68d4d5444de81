"""A content-addressed store of model exchanges: the response cache and record/replay.

One JSON file per key (``ab/abcdef....json``), written to a temporary file and
renamed into place, so any number of xdist workers can read and write at once
with no lock and no "database is locked": a reader sees a whole entry or none,
and two writers of one key write the same exchange. The same format serves the
cache (``.llmbench/cache``) and a recording folder (``--llmbench-record DIR``),
which can be committed and replayed in CI.

The key is a SHA-256 of what decides the answer: provider, model name, the model
id sent to the API, the endpoint, the params and the messages, and for a request
with tools the tool definitions (an agent's turn is keyed on the whole conversation
so far, tool calls and results included). Never an API key. Paths that differ per
run but not in meaning (``metadata["key_aliases"]``: a subprocess sandbox's folder)
are replaced by their alias in the key only.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import secrets
import time
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from pytest_llmbench.errors import ProviderError
from pytest_llmbench.providers.base import ChatRequest, Completion
from pytest_llmbench.redaction import scrub_value

log = logging.getLogger(__name__)
KEY_VERSION = 1
CACHE_MODES = ("off", "read", "write", "readwrite")
_COMPLETION_FIELDS = frozenset(f.name for f in fields(Completion))
BAD_SUFFIX = ".bad"
UNREADABLE_LOG = "unreadable.log"
# What each stored completion field may hold; anything else makes the entry unreadable.
_NUMBER, _INT, _TEXT = (int, float), (int,), (str,)
_FIELD_TYPES: dict[str, tuple[tuple[type, ...], bool]] = {  # (types, None allowed)
    "text": (_TEXT, False), "input_tokens": (_INT, True), "output_tokens": (_INT, True),
    "tokens_estimated": ((bool,), False), "ttft_s": (_NUMBER, True),
    "latency_s": (_NUMBER, True), "itl_s": ((list,), False), "finish_reason": (_TEXT, True),
    "attempts": (_INT, False), "cost_usd": (_NUMBER, True), "raw_usage": ((dict,), True),
    "reasoning": (_TEXT, True), "reasoning_tokens": (_INT, True),
    "reasoning_tokens_estimated": ((bool,), False), "reasoning_ttft_s": (_NUMBER, True),
    "tool_calls": ((list,), False)}


class BadEntry(ValueError):
    """A stored entry that is not a completion (hand-edited, truncated, another version)."""


def completion_problem(data: Any) -> str | None:
    """Why a stored entry cannot be an answer, or None."""
    completion = data.get("completion") if isinstance(data, dict) else None
    if not isinstance(completion, dict):
        return "no 'completion' object"
    if "text" not in completion:
        return "'completion.text' is missing"
    for name, value in completion.items():
        if name not in _FIELD_TYPES:
            continue
        types, nullable = _FIELD_TYPES[name]
        if value is None and nullable:
            continue
        wrong_bool = isinstance(value, bool) and bool not in types
        if wrong_bool or not isinstance(value, types):
            return f"'completion.{name}' is {type(value).__name__}, not {types[0].__name__}"
        if not isinstance(value, list):
            continue
        if name == "itl_s" and not all(
                isinstance(v, _NUMBER) and not isinstance(v, bool) for v in value):
            return "'completion.itl_s' must be a list of numbers"
        if name == "tool_calls" and not all(
                isinstance(v, dict) and all(isinstance(v.get(k), str)
                                            for k in ("id", "name", "arguments"))
                for v in value):
            return "'completion.tool_calls' must be a list of {id, name, arguments} strings"
    return None


def request_key(request: ChatRequest) -> str:
    """The stable hash of a request (identical across processes and runs)."""
    return hashlib.sha256(_canonical(key_fields(request)).encode()).hexdigest()


def key_fields(request: ChatRequest) -> dict[str, Any]:
    model = request.model
    fields_ = {"v": KEY_VERSION, "provider": model.provider, "model": model.name,
               "api_model": model.api_model,
               "endpoint": model.settings.get("base_url") or model.settings.get("endpoint_url"),
               "params": request.params, "messages": request.messages}
    if request.tools is not None:  # only then: plain requests keep their keys
        fields_["tools"] = request.tools
    if request.metadata.get("sample"):  # pass@k samples are separate answers, never one
        fields_["sample"] = request.metadata["sample"]
    aliases = request.metadata.get("key_aliases")
    if aliases:
        fields_ = json.loads(_unalias(_canonical(fields_), aliases))
    return fields_


def _unalias(text: str, aliases: dict[str, str]) -> str:
    for real, alias in sorted(aliases.items(), key=lambda kv: -len(kv[0])):
        if real:
            text = text.replace(json.dumps(real)[1:-1], alias)
    return text


def _canonical(data: Any) -> str:
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


class ReplayMiss(ProviderError):
    """``--llmbench-replay``: the recording holds no answer to this request."""

    kind = "replay_miss"


@dataclass
class StoreInfo:
    entries: int
    bytes: int


class ResponseStore:
    """Exchanges on disk under ``folder``; safe for concurrent processes."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def path_for(self, key: str) -> Path:
        return self.folder / key[:2] / f"{key}.json"

    def get(self, key: str) -> Completion | None:
        """The stored answer, None when there is none; BadEntry naming the file when the
        entry is there but is not a completion."""
        path = self.path_for(key)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise BadEntry(f"{path}: cannot read: {exc.strerror or exc}") from None
        except ValueError as exc:  # invalid JSON or UTF-8
            raise BadEntry(f"{path}: not JSON ({exc})") from None
        problem = completion_problem(data)
        if problem is not None:
            raise BadEntry(f"{path}: {problem}")
        completion = data["completion"]
        return Completion(**{k: v for k, v in completion.items()
                             if k in _COMPLETION_FIELDS and k != "cached"})

    def set_aside(self, key: str, reason: str) -> None:
        """Move an unreadable cache entry to ``<key>.json.bad`` (kept for inspection, never
        read again; the next answer is stored in its place) and warn once, naming it."""
        path = self.path_for(key)
        line = f"{reason}; treated as a miss, set aside as {path.name}{BAD_SUFFIX}"
        try:
            os.replace(path, path.with_name(path.name + BAD_SUFFIX))
            with (self.folder / UNREADABLE_LOG).open("a", encoding="utf-8") as handle:
                handle.write(f"{time.time():.3f} {line}\n")
        except OSError:
            pass
        log.warning("cache: %s", line)

    def set_aside_since(self, since: float) -> list[str]:
        """What ``set_aside`` said since ``since`` (any process of the run)."""
        try:
            lines = (self.folder / UNREADABLE_LOG).read_text(encoding="utf-8").splitlines()
        except OSError:
            return []
        out = []
        for entry in lines:
            stamp, _, text = entry.partition(" ")
            try:
                if float(stamp) >= since:
                    out.append(text)
            except ValueError:
                continue
        return out

    def put(self, key: str, request: ChatRequest, completion: Completion) -> None:
        path = self.path_for(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        payload = scrub_value({"key": key, "request": key_fields(request),
                               "completion": {k: v for k, v in completion.to_dict().items()
                                              if k in _COMPLETION_FIELDS and k != "cached"}})
        tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
        tmp.write_text(json.dumps(payload, ensure_ascii=False, default=str), encoding="utf-8")
        os.replace(tmp, path)

    def info(self) -> StoreInfo:
        entries = size = 0
        if self.folder.is_dir():
            for path in self.folder.glob("??/*.json"):
                entries += 1
                size += path.stat().st_size
        return StoreInfo(entries, size)

    def clear(self) -> int:
        """Remove every entry; the number removed."""
        removed = 0
        if self.folder.is_dir():
            for path in self.folder.glob("??/*.json"):
                path.unlink(missing_ok=True)
                removed += 1
            for sub in self.folder.glob("??"):
                try:
                    sub.rmdir()
                except OSError:
                    pass
        return removed


class Responses:
    """The engine's view: where answers come from before a call and go after it.

    ``replay`` answers from a recording only (a miss is an error naming the key);
    ``cache`` is read and/or written per ``cache_mode``; ``record`` stores every answer.
    """

    def __init__(self, cache: ResponseStore | None = None, cache_mode: str = "off",
                 record: ResponseStore | None = None, replay: ResponseStore | None = None) -> None:
        self.cache = cache if cache_mode != "off" else None
        self.cache_mode = cache_mode
        self.record = record
        self.replay = replay

    @property
    def active(self) -> bool:
        return any((self.cache, self.record, self.replay))

    def lookup(self, request: ChatRequest) -> Completion | None:
        """A stored answer (marked ``cached``), None to call the model; raises on a replay miss."""
        if not self.active:
            return None
        key = request_key(request)
        if self.replay is not None:
            try:
                hit = self.replay.get(key)
            except BadEntry as exc:  # a recording is committed data: name it, change nothing
                raise ReplayMiss(f"recorded response unreadable: {exc} (--llmbench-replay); "
                                 "record it again with --llmbench-record",
                                 model=request.model.name, error_type="ReplayMiss") from None
            if hit is None:
                raise ReplayMiss(f"no recorded response for key {key} in {self.replay.folder} "
                                 f"(--llmbench-replay); record it with --llmbench-record",
                                 model=request.model.name, error_type="ReplayMiss")
        elif self.cache is not None and self.cache_mode in ("read", "readwrite"):
            try:
                hit = self.cache.get(key)
            except BadEntry as exc:
                self.cache.set_aside(key, str(exc))
                hit = None
        else:
            hit = None
        log.debug("cache %s %s %s", "hit" if hit is not None else "miss", request.model.name,
                  key[:12])
        if hit is not None:
            hit.cached = True
            if self.record is not None and self.record is not self.replay:
                self.record.put(key, request, hit)
        return hit

    def store(self, request: ChatRequest, completion: Completion) -> None:
        if self.record is None and not (self.cache is not None
                                        and self.cache_mode in ("write", "readwrite")):
            return
        key = request_key(request)
        if self.record is not None:
            self.record.put(key, request, completion)
        if self.cache is not None and self.cache_mode in ("write", "readwrite"):
            try:
                self.cache.put(key, request, completion)
            except OSError as exc:  # a full disk costs the cache entry, not the result
                log.warning("cache: could not store %s: %s", key[:12], exc)
