"""What a run request may name, checked before anything is queued: suites from a catalog
(the bundled ``bench_suites/`` plus configured folders), models whose provider exists and
whose credentials the service has, a subset or sample in range. Each refusal is one line."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from pytest_llmbench.errors import ConfigError

BUNDLED = Path(__file__).resolve().parents[2] / "bench_suites"
SUBSETS = (1, 5, 10, 25, 50, 100)
_ANTHROPIC_ENV = "ANTHROPIC_API_KEY"
_RUN_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,120}$")


class BadRequest(ValueError):
    """A run request that cannot run: the message is the one line the client sees."""


def catalog(folders: list[Path]) -> dict[str, Path]:
    """Suite name -> YAML file, bundled suites first; a configured folder may add more."""
    found: dict[str, Path] = {}
    for folder in [BUNDLED, *folders]:
        if not folder.is_dir():
            continue
        for path in sorted(folder.glob("*.yaml")):
            try:
                doc = yaml.safe_load(path.read_text(encoding="utf-8"))
            except (OSError, yaml.YAMLError):
                continue
            if isinstance(doc, dict) and ("prompt" in doc or "dataset" in doc):
                found.setdefault(str(doc.get("name") or path.stem), path.resolve())
    return found


def credentials_env(provider: str) -> str | None:
    """The env var a provider's key comes from, when one is needed; None when none is."""
    if provider == "anthropic":
        return _ANTHROPIC_ENV
    from pytest_llmbench.providers.hosts import HOSTS

    host = HOSTS.get(provider)
    return host.key_env if host else None


def check_model(spec: str, env: dict[str, str] | None = None) -> str:
    from pytest_llmbench.providers.base import known_providers

    spec = spec.strip()
    provider, sep, name = spec.partition(":")
    if not sep or not provider or not name:
        raise BadRequest(f"models: {spec!r} is not PROVIDER:MODEL (e.g. sim:default)")
    if provider not in known_providers():
        raise BadRequest(f"models: unknown provider {provider!r} in {spec!r}")
    needed = credentials_env(provider)
    if needed and not (env if env is not None else os.environ).get(needed):
        raise BadRequest(f"models: {spec!r} needs ${needed} on the workers, which the service "
                         "does not have")
    return spec


@dataclass
class RunRequest:
    models: list[str]
    suites: list[str]
    subset_pct: int | None = None
    sample: str | None = None
    seed: int = 42
    variants: list[str] = field(default_factory=list)
    params: dict[str, Any] = field(default_factory=dict)
    tags: list[str] = field(default_factory=list)
    run_id: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if v not in (None, [], {})}

    @property
    def sample_arg(self) -> str | None:
        if self.subset_pct is not None and self.subset_pct < 100:
            return f"{self.subset_pct}%"
        return self.sample


_PARAMS = {"budget_usd": float, "time_limit_s": float, "concurrency": int, "timeout": float,
           "max_retries": int, "samples": int}


def _strings(data: dict[str, Any], name: str) -> list[str]:
    value = data.get(name) or []
    if isinstance(value, str):
        value = [v for v in re.split(r"[,\s]+", value) if v]
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise BadRequest(f"{name}: must be a list of strings")
    return [v.strip() for v in value]


def parse_request(data: dict[str, Any], suites: dict[str, Path]) -> RunRequest:
    """Validate a request body; raises ``BadRequest`` with one line."""
    unknown = set(data) - {"models", "suites", "subset_pct", "sample", "seed", "variants",
                           "params", "tags", "run_id"}
    if unknown:
        raise BadRequest(f"unknown field(s): {', '.join(sorted(unknown))}")
    models = [check_model(m) for m in _strings(data, "models")]
    if not models:
        raise BadRequest("models: name at least one model (e.g. sim:default)")
    names = _strings(data, "suites")
    if not names:
        raise BadRequest("suites: name at least one suite from the catalog")
    for name in names:
        if name not in suites:
            raise BadRequest(f"suites: unknown suite {name!r} (catalog: {', '.join(sorted(suites))})")
    subset, sample = data.get("subset_pct"), data.get("sample")
    if subset is not None and sample is not None:
        raise BadRequest("give subset_pct or sample, not both")
    if subset is not None:
        if isinstance(subset, bool) or not isinstance(subset, int) or subset not in SUBSETS:
            raise BadRequest(f"subset_pct: {subset!r} is out of range (one of "
                             f"{', '.join(map(str, SUBSETS))})")
    if sample is not None:
        text = str(sample)
        if not re.fullmatch(r"[1-9]\d{0,8}%?", text) or (text.endswith("%") and int(text[:-1]) > 100):
            raise BadRequest(f"sample: {sample!r} must be a count (50) or a percentage (5%)")
        sample = text
    seed = data.get("seed", 42)
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise BadRequest("seed: must be an integer")
    params = data.get("params") or {}
    if not isinstance(params, dict):
        raise BadRequest("params: must be an object")
    clean: dict[str, Any] = {}
    for key, value in params.items():
        kind = _PARAMS.get(key)
        if kind is None:
            raise BadRequest(f"params: unknown key {key!r} (known: {', '.join(sorted(_PARAMS))})")
        if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0 or (
                kind is int and not isinstance(value, int)):
            raise BadRequest(f"params.{key}: must be a positive {kind.__name__}")
        clean[key] = kind(value)
    run_id = data.get("run_id")
    if run_id is not None and (not isinstance(run_id, str) or not _RUN_ID.match(run_id)):
        raise BadRequest("run_id: letters, digits, '.', '_' and '-' only (at most 121)")
    return RunRequest(models=models, suites=names, subset_pct=subset, sample=sample, seed=seed,
                      variants=_strings(data, "variants"), params=clean,
                      tags=_strings(data, "tags"), run_id=run_id)


def pytest_args(req: RunRequest, suites: dict[str, Path]) -> list[str]:
    """The plugin's options for this request (the worker adds run id, ingest and resume)."""
    missing = [s for s in req.suites if s not in suites]
    if missing:
        raise ConfigError(f"suite(s) not in this worker's catalog: {', '.join(missing)}")
    args = [str(suites[s]) for s in req.suites]
    args += ["--llmbench-models", ",".join(req.models), "--llmbench-seed", str(req.seed)]
    if req.sample_arg:
        args += ["--llmbench-sample", req.sample_arg]
    if req.variants:
        args += ["--llmbench-variants", ",".join(req.variants)]
    flags = {"budget_usd": "--llmbench-budget", "concurrency": "--llmbench-concurrency",
             "timeout": "--llmbench-timeout", "max_retries": "--llmbench-max-retries",
             "samples": "--llmbench-samples"}
    for key, flag in flags.items():
        if key in req.params:
            args += [flag, str(req.params[key])]
    return args
