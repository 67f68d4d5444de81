"""Simulated model profiles and the simulator's configuration file.

One ``ModelProfile`` says how a simulated model behaves: its latency, how
long it talks, what it answers, which faults it injects and how many requests
it serves at once. ``SimConfig`` holds the profiles (ready ones plus any from
``--config sim.yaml`` or ``--model``), the auth rules and the seed.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pytest_llmbench.sim.distributions import Distribution, DistributionError, parse_distribution

POLICIES = ("echo", "fixed", "flail", "judge", "key", "lorem")
REASONING_FORMATS = ("reasoning_content", "reasoning", "think_tags")
REASONING_TEXT = "Let me think about this step by step before I answer."

PRE_STREAM_FAULTS = (
    "auth", "not_found", "bad_request", "rate_limit", "server_error", "unavailable", "overloaded",
)
MID_STREAM_FAULTS = ("stream_error", "drop", "stall")
FAULT_KINDS = PRE_STREAM_FAULTS + MID_STREAM_FAULTS

_MS_FIELDS = ("ttft_ms", "itl_ms")


class SimConfigError(ValueError):
    """A bad simulator config file, ``--model`` option or answer key; says where."""


@dataclass(frozen=True)
class ModelProfile:
    """How one simulated model behaves. Times in milliseconds, rates in [0, 1]."""

    name: str
    ttft_ms: Distribution = Distribution("fixed", 0.0)
    itl_ms: Distribution = Distribution("fixed", 0.0)
    output_tokens: Distribution | None = None  # None: the answer's own length
    until_max_tokens: bool = False  # talk until the request's max_tokens
    default_max_tokens: int = 4096
    policy: str = "key"
    text: str = "Hello from the llmbench simulator."
    correct_fraction: float = 1.0
    fallback: str = "I don't know."
    errors: dict[str, float] = field(default_factory=dict)
    fault_after: int | None = None  # tokens sent before a mid-stream fault
    stall_s: float = 30.0
    retry_after_s: float = 1.0
    fail_first: int = 0  # the first N requests of each prompt (case id or text) fail ...
    fail_first_kind: str = "server_error"  # ... with this fault
    max_concurrency: int | None = None
    max_queue: int | None = None
    api_key: str | None = None
    seed: int | None = None
    reasoning_tokens: Distribution | None = None  # thinking tokens streamed before the answer
    reasoning_format: str = "reasoning_content"
    """How OpenAI-style streams carry thinking: a ``reasoning_content`` delta (DeepSeek,
    SGLang, vLLM < 0.10), a ``reasoning`` delta (vLLM >= 0.10, Ollama) or ``think_tags``
    (``<think>...</think>`` inside the content, on every wire). Anthropic streams send
    thinking blocks and Bedrock ``reasoningContent`` deltas for the first two."""


@dataclass
class BatchSettings:
    """How the simulator's batch endpoints behave (``batch:`` in the sim config)."""

    validate_s: float = 0.2
    process_s: float = 0.5
    finalize_s: float = 0.1
    expire_s: float = 24 * 3600.0
    fail_fraction: float = 0.0
    """Requests (chosen by a hash of their id) answered with ``fail_kind``."""
    fail_kind: str = "server_error"
    malformed_fraction: float = 0.0
    """Result lines written as broken JSON."""
    missing_fraction: float = 0.0
    """Requests with no result line at all."""
    lose_output: bool = False
    """Bedrock: the job completes but writes no output object."""
    max_requests: int = 50_000
    max_bytes: int = 200 * 1024 * 1024
    min_records: int = 1
    """Bedrock's minimum records per job (100 on AWS)."""

    def update(self, values: dict[str, Any], where: str = "batch") -> None:
        for key, value in values.items():
            if not hasattr(self, key):
                raise SimConfigError(f"{where}: unknown key {key!r}; known: "
                                     f"{sorted(self.__dataclass_fields__)}")
            kind = type(getattr(self, key))
            try:
                setattr(self, key, value if kind is str else kind(value))
            except (TypeError, ValueError) as exc:
                raise SimConfigError(f"{where}.{key}: expected {kind.__name__}, "
                                     f"got {value!r}") from exc
        if self.fail_kind not in PRE_STREAM_FAULTS:
            raise SimConfigError(f"{where}.fail_kind: one of {list(PRE_STREAM_FAULTS)}")


@dataclass
class SimConfig:
    """Everything the server needs to know before it starts."""

    models: dict[str, ModelProfile] = field(default_factory=dict)
    seed: int = 0
    bad_keys: list[str] = field(default_factory=lambda: ["bad-key"])
    bad_key_prefixes: list[str] = field(default_factory=lambda: ["invalid"])
    require_key: bool = False
    answer_keys: list[Path] = field(default_factory=list)
    batch: dict[str, Any] = field(default_factory=dict)
    """Settings of the batch endpoints (``sim.batch_jobs.BatchSettings``), checked at start."""

    def model(self, name: str) -> ModelProfile | None:
        """The profile for ``name`` (a ``sim:`` prefix is ignored), or None."""
        return self.models.get(strip_prefix(name))


def strip_prefix(name: str) -> str:
    return name[4:] if name.startswith("sim:") else name


def ready_models() -> dict[str, ModelProfile]:
    """Models that work with no configuration at all."""
    ms = Distribution
    models = [
        # the embedded default: answers from the answer key, small realistic latency
        ModelProfile("default", ttft_ms=ms("normal", 30.0, 5.0), itl_ms=ms("fixed", 2.0)),
        ModelProfile("oracle"),
        ModelProfile("fast", ttft_ms=ms("fixed", 20.0), itl_ms=ms("fixed", 2.0),
                     correct_fraction=0.7),
        ModelProfile("slow", ttft_ms=ms("normal", 400.0, 50.0), itl_ms=ms("fixed", 30.0),
                     correct_fraction=0.9),
        ModelProfile("flaky", ttft_ms=ms("fixed", 20.0), itl_ms=ms("fixed", 2.0),
                     correct_fraction=0.7, retry_after_s=0.05,
                     errors={"rate_limit": 0.1, "server_error": 0.05, "stream_error": 0.02,
                             "drop": 0.02}),
        ModelProfile("echo", policy="echo"),
        # an agent that never finishes (tool-calling requests; see sim/agent_api.py)
        ModelProfile("flailer", policy="flail"),
        # a reasoning model: 24 thinking tokens before each answer
        ModelProfile("thinker", ttft_ms=ms("fixed", 20.0), itl_ms=ms("fixed", 1.0),
                     reasoning_tokens=ms("fixed", 24.0)),
        # grades a judge prompt by comparing its <reference> and <response> parts
        ModelProfile("judge", ttft_ms=ms("fixed", 5.0), itl_ms=ms("fixed", 0.5), policy="judge"),
    ]
    return {m.name: m for m in models}


_FIELDS = {f.name for f in dataclasses.fields(ModelProfile)} - {"name"}


def build_profile(name: str, raw: dict[str, Any], base: ModelProfile | None,
                  where: str) -> ModelProfile:
    """Make a profile from config keys, on top of ``base`` (or plain defaults)."""
    raw = dict(raw)
    raw.pop("base", None)
    unknown = set(raw) - _FIELDS
    if unknown:
        raise SimConfigError(
            f"{where}: model {name!r}: unknown key(s) {sorted(unknown)}; known: {sorted(_FIELDS)}"
        )
    kw: dict[str, Any] = {}
    try:
        for key in _MS_FIELDS:
            if key in raw:
                kw[key] = parse_distribution(raw[key], f"{where}: {name}.{key}")
        if "output_tokens" in raw:
            value = raw["output_tokens"]
            if value in ("max_tokens", "max"):
                kw["until_max_tokens"], kw["output_tokens"] = True, None
            elif value is None or value == "answer":
                kw["until_max_tokens"], kw["output_tokens"] = False, None
            else:
                kw["output_tokens"] = parse_distribution(value, f"{where}: {name}.output_tokens")
                kw["until_max_tokens"] = False
    except DistributionError as exc:
        raise SimConfigError(str(exc)) from exc
    if "reasoning_tokens" in raw:
        try:
            kw["reasoning_tokens"] = (None if raw["reasoning_tokens"] is None else parse_distribution(
                raw["reasoning_tokens"], f"{where}: {name}.reasoning_tokens"))
        except DistributionError as exc:
            raise SimConfigError(str(exc)) from exc
    for key in ("policy", "text", "fallback", "api_key", "reasoning_format", "fail_first_kind"):
        if key in raw:
            kw[key] = None if raw[key] is None else str(raw[key])
    for key in ("correct_fraction", "stall_s", "retry_after_s"):
        if key in raw:
            kw[key] = _number(raw[key], f"{where}: {name}.{key}")
    for key in ("fault_after", "max_concurrency", "max_queue", "seed", "default_max_tokens",
                "fail_first"):
        if key in raw:
            kw[key] = None if raw[key] is None else int(_number(raw[key], f"{where}: {name}.{key}"))
    if "until_max_tokens" in raw:
        kw["until_max_tokens"] = bool(raw["until_max_tokens"])
    if "errors" in raw:
        kw["errors"] = _errors(raw["errors"], f"{where}: {name}.errors")
    profile = dataclasses.replace(base or ModelProfile(name), name=name, **kw)
    _validate(profile, where)
    return profile


def _number(value: Any, what: str) -> float:
    try:
        return float(value)
    except (TypeError, ValueError) as exc:
        raise SimConfigError(f"{what}: expected a number, got {value!r}") from exc


def _errors(value: Any, what: str) -> dict[str, float]:
    if not isinstance(value, dict):
        raise SimConfigError(f"{what}: expected a mapping of fault kind to rate")
    rates: dict[str, float] = {}
    for kind, rate in value.items():
        if kind not in FAULT_KINDS:
            raise SimConfigError(f"{what}: unknown fault kind {kind!r}; known: {list(FAULT_KINDS)}")
        rates[str(kind)] = _number(rate, f"{what}.{kind}")
    if sum(rates.values()) > 1.0 + 1e-9:
        raise SimConfigError(f"{what}: rates add up to more than 1")
    return rates


def _validate(p: ModelProfile, where: str) -> None:
    if p.policy not in POLICIES:
        raise SimConfigError(f"{where}: model {p.name!r}: policy must be one of {list(POLICIES)}")
    if p.reasoning_format not in REASONING_FORMATS:
        raise SimConfigError(f"{where}: model {p.name!r}: reasoning_format must be one of "
                             f"{list(REASONING_FORMATS)}")
    if not 0.0 <= p.correct_fraction <= 1.0:
        raise SimConfigError(f"{where}: model {p.name!r}: correct_fraction must be in [0, 1]")
    if p.fail_first_kind not in FAULT_KINDS:
        raise SimConfigError(f"{where}: model {p.name!r}: fail_first_kind must be one of "
                             f"{list(FAULT_KINDS)}")
    if p.max_concurrency is not None and p.max_concurrency < 1:
        raise SimConfigError(f"{where}: model {p.name!r}: max_concurrency must be >= 1")


def load_config(path: str | Path | None = None, models: list[str] | None = None,
                answer_keys: list[str | Path] | None = None, seed: int | None = None) -> SimConfig:
    """Ready models, then the YAML file, then ``--model`` options, later ones winning."""
    config = SimConfig(models=ready_models())
    if path is not None:
        _apply_file(config, Path(path))
    for spec in models or []:
        name, raw = parse_model_option(spec)
        base = config.models.get(str(raw.get("base", name)))
        if "base" in raw and base is None:
            raise SimConfigError(f"--model {spec}: unknown base model {raw['base']!r}")
        config.models[name] = build_profile(name, raw, base, f"--model {spec}")
    config.answer_keys.extend(Path(p) for p in answer_keys or [])
    if seed is not None:
        config.seed = seed
    return config


def _apply_file(config: SimConfig, path: Path) -> None:
    import yaml

    from pytest_llmbench.config import safe_load_yaml

    try:
        data = safe_load_yaml(path.read_text(encoding="utf-8")) or {}
    except OSError as exc:
        raise SimConfigError(f"{path}: cannot read simulator config: {exc}") from exc
    except yaml.YAMLError as exc:
        raise SimConfigError(f"{path}: not valid YAML: {exc}") from exc
    if not isinstance(data, dict):
        raise SimConfigError(f"{path}: expected a mapping at the top level")
    known = {"seed", "auth", "answer_key", "models", "batch"}
    if set(data) - known:
        raise SimConfigError(f"{path}: unknown top-level key(s) {sorted(set(data) - known)}")
    if "seed" in data:
        config.seed = int(data["seed"])
    batch = data.get("batch") or {}
    if not isinstance(batch, dict):
        raise SimConfigError(f"{path}: batch: expected a mapping")
    BatchSettings().update(batch, f"{path}: batch")  # fail at load, naming the file
    config.batch.update(batch)
    auth = data.get("auth") or {}
    if not isinstance(auth, dict):
        raise SimConfigError(f"{path}: auth: expected a mapping")
    if "bad_keys" in auth:
        config.bad_keys = [str(k) for k in auth["bad_keys"] or []]
    if "bad_key_prefixes" in auth:
        config.bad_key_prefixes = [str(k) for k in auth["bad_key_prefixes"] or []]
    if "require_key" in auth:
        config.require_key = bool(auth["require_key"])
    keys = data.get("answer_key")
    for item in [keys] if isinstance(keys, str) else keys or []:
        key_path = Path(item)
        config.answer_keys.append(key_path if key_path.is_absolute() else path.parent / key_path)
    models = data.get("models") or {}
    if not isinstance(models, dict):
        raise SimConfigError(f"{path}: models: expected a mapping of name to settings")
    for name, raw in models.items():
        name = strip_prefix(str(name))
        raw = raw or {}
        if not isinstance(raw, dict):
            raise SimConfigError(f"{path}: model {name!r}: expected a mapping")
        base_name = raw.get("base")
        base = config.models.get(str(base_name if base_name is not None else name))
        if base_name is not None and base is None:
            raise SimConfigError(f"{path}: model {name!r}: unknown base model {base_name!r}")
        config.models[name] = build_profile(name, raw, base, str(path))


_SPLIT = re.compile(r",(?![^()]*\))")


def parse_model_option(spec: str) -> tuple[str, dict[str, Any]]:
    """Read ``NAME[:key=value,...]``; ``errors.KIND=rate`` sets one fault rate.

    Example: ``perf:ttft_ms=100,itl_ms=10,output_tokens=128`` or
    ``shaky:base=fast,errors.rate_limit=0.2``; distributions as ``normal(100, 10)``.
    """
    import yaml

    spec = strip_prefix(spec.strip())
    name, _, rest = spec.partition(":")
    if not name:
        raise SimConfigError(f"--model {spec!r}: missing model name")
    raw: dict[str, Any] = {}
    for item in (p.strip() for p in _SPLIT.split(rest) if p.strip()):
        key, sep, value = item.partition("=")
        if not sep:
            raise SimConfigError(f"--model {spec!r}: expected key=value, got {item!r}")
        parsed = yaml.safe_load(value) if value else ""
        if key.startswith("errors."):
            raw.setdefault("errors", {})[key[7:]] = parsed
        else:
            raw[key.strip()] = parsed
    return name, raw
