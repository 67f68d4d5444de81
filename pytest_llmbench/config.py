"""Model specs and the models config file (``llmbench.yaml`` or ``[tool.llmbench]``).

A spec is ``provider:model``, split on the FIRST colon only, so Bedrock ids such as
``bedrock:us.anthropic.claude-opus-4-5-20251101-v1:0`` stay whole.
"""

from __future__ import annotations

import math
import os
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from pytest_llmbench.errors import ConfigError

PRICE_KEYS = ("input_per_mtok", "output_per_mtok", "cache_read_per_mtok", "cache_write_per_mtok")
_REQUIRED_PRICE_KEYS = PRICE_KEYS[:2]


def check_price(value: Any, where: str) -> None:
    """Raise a ConfigError naming ``where`` unless ``value`` is a valid ``price`` mapping."""
    if not isinstance(value, dict):
        raise ConfigError(f"{where}: 'price' must be a mapping such as "
                          "{input_per_mtok: 0.15, output_per_mtok: 0.6} (USD per 1M tokens)")
    unknown = sorted(set(value) - set(PRICE_KEYS))
    if unknown:
        raise ConfigError(f"{where}: unknown price key(s) {unknown}; known: {list(PRICE_KEYS)}")
    for key in _REQUIRED_PRICE_KEYS:
        if key not in value:
            raise ConfigError(f"{where}: price needs {key} (USD per 1M tokens)")
    for key, number in value.items():
        if isinstance(number, bool) or not isinstance(number, int | float) or not (
                math.isfinite(number) and number >= 0):
            raise ConfigError(f"{where}: price.{key} must be a number >= 0, got {number!r}")


CONFIG_FILE_NAMES = ("llmbench.yaml", "llmbench.yml")
_ENV_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")
_SECRET_HINTS = ("key", "token", "secret", "password", "credential", "authorization")


@dataclass(frozen=True)
class ModelSpec:
    """A model to benchmark: provider, model id and how to call it."""

    provider: str
    model: str
    params: dict[str, Any] = field(default_factory=dict, hash=False, compare=False)
    settings: dict[str, Any] = field(default_factory=dict, hash=False, compare=False)
    categories: tuple[str, ...] = ()
    label: str | None = None
    target: str | None = None
    enabled: bool = True

    @property
    def name(self) -> str:
        """``provider:model``, with ``@target`` when the model runs against a target."""
        base = f"{self.provider}:{self.model}"
        return f"{base}@{self.target}" if self.target else base

    @property
    def api_model(self) -> str:
        """The model id sent to the API: ``served_name`` when the config maps this name to
        another (an alias, or an older server's name for the model), else ``model``."""
        return str(self.settings.get("served_name") or self.model)

    def __str__(self) -> str:
        return self.name

    @classmethod
    def parse(cls, text: str, source: str = "model spec") -> ModelSpec:
        provider, sep, model = text.strip().partition(":")
        if not sep or not provider or not model:
            raise ConfigError(f"{source}: {text!r} is not provider:model (e.g. openai:gpt-4o-mini)")
        return cls(provider=provider.strip(), model=model.strip())


@dataclass
class ModelsConfig:
    """The parsed models config file; ``path`` is None when there is none."""

    path: Path | None = None
    models: list[ModelSpec] = field(default_factory=list)
    settings: dict[str, Any] = field(default_factory=dict)
    missing_env: dict[str, list[str]] = field(default_factory=dict)
    aliases: dict[str, str] = field(default_factory=dict)
    """Short names for ``--llmbench-models`` (``aliases: {mini: openai:gpt-4o-mini}``)."""
    judge: ModelSpec | None = None  # the ``judge:`` entry: default model of judge scorers
    targets: Any = None
    """The raw ``targets:`` section (parsed by ``targets.spec``)."""

    def find(self, name: str) -> ModelSpec | None:
        name = self.aliases.get(name, name)
        for spec in self.models:
            if spec.name == name or spec.label == name:
                return spec
        return None


def find_config_file(rootdir: Path, explicit: str | None) -> Path | None:
    if explicit:
        path = Path(explicit)
        if not path.is_absolute():
            path = Path.cwd() / path
        if not path.is_file():
            raise ConfigError(f"--llmbench-config: file not found: {explicit}")
        return path
    for name in CONFIG_FILE_NAMES:
        if (rootdir / name).is_file():
            return rootdir / name
    return None


def load_models_config(rootdir: Path, explicit: str | None = None) -> ModelsConfig:
    """Read llmbench.yaml (or the given file), else ``[tool.llmbench]`` in pyproject.toml."""
    path = find_config_file(rootdir, explicit)
    data: Any = None
    if path is not None:
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8"))
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            line = f":{mark.line + 1}" if mark is not None else ""
            raise ConfigError(f"{path}{line}: invalid YAML: {getattr(exc, 'problem', exc)}") from None
    else:
        pyproject = rootdir / "pyproject.toml"
        if pyproject.is_file():
            try:
                data = tomllib.loads(pyproject.read_text(encoding="utf-8"))
            except tomllib.TOMLDecodeError as exc:
                raise ConfigError(f"{pyproject}: invalid TOML: {exc}") from None
            data = data.get("tool", {}).get("llmbench")
            if data is not None:
                path = pyproject
    if data is None:
        return ModelsConfig(path=path)
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping with 'models:' (and optional 'settings:')")
    return _parse_config(path, data)


def _parse_config(path: Path | None, data: dict[str, Any]) -> ModelsConfig:
    result = ModelsConfig(path=path)
    unknown = set(data) - {"models", "settings", "aliases", "judge", "targets"}
    if unknown:
        raise ConfigError(f"{path}: unknown top-level keys {sorted(unknown)} "
                          "(expected 'models', 'settings', 'aliases', 'judge' and 'targets')")
    result.targets, _ = _expand(data.get("targets"))
    aliases = data.get("aliases") or {}
    if not isinstance(aliases, dict):
        raise ConfigError(f"{path}: 'aliases' must map a short name to provider:model")
    for alias, target in aliases.items():
        ModelSpec.parse(str(target), source=f"{path}: aliases.{alias}")
        result.aliases[str(alias)] = str(target).strip()
    settings = data.get("settings") or {}
    if not isinstance(settings, dict):
        raise ConfigError(f"{path}: 'settings' must be a mapping")
    result.settings, _ = _expand(settings)
    raw_models = data.get("models") or []
    if isinstance(raw_models, dict):
        entries = [{"name": name, **(body or {})} for name, body in raw_models.items()]
    elif isinstance(raw_models, list):
        entries = [{"name": e} if isinstance(e, str) else e for e in raw_models]
    else:
        raise ConfigError(f"{path}: 'models' must be a list or a mapping")
    for entry in entries:
        spec, missing = _model_entry(path, entry)
        result.models.append(spec)
        if missing:
            result.missing_env[spec.name] = missing
    judge = data.get("judge")
    known = result.find(judge) if isinstance(judge, str) else None
    if known is not None:  # a model entry (or its label / alias) serves as the judge
        result.judge = known
    elif judge is not None:
        entry = {"name": result.aliases.get(judge, judge)} if isinstance(judge, str) else judge
        result.judge, missing = _model_entry(path, entry, what="judge")
        if missing:
            raise ConfigError(f"{path}: judge {result.judge.name} needs environment variable "
                              f"{missing[0]} (unset)")
    return result


def _model_entry(path: Path | None, entry: Any, what: str = "model"
                 ) -> tuple[ModelSpec, list[str]]:
    """One ``models:`` (or ``judge:``) entry as a spec, with the env vars it lacks."""
    if not isinstance(entry, dict) or "name" not in entry:
        raise ConfigError(f"{path}: each {what} needs a 'name' (provider:model): {entry!r}")
    expanded, missing = _expand(entry)
    name = str(expanded.pop("name"))
    base = ModelSpec.parse(name, source=str(path))
    params = expanded.pop("params", None) or {}
    if not isinstance(params, dict):
        raise ConfigError(f"{path}: model {name}: 'params' must be a mapping")
    categories = expanded.pop("category", None) or expanded.pop("categories", None) or []
    if isinstance(categories, str):
        categories = [categories]
    enabled = expanded.pop("enabled", True)
    label = expanded.pop("label", None)
    target = expanded.pop("target", None)
    _check_settings(expanded, f"{path}: model {name}")
    spec = ModelSpec(provider=base.provider, model=base.model, params=params,
                     settings=expanded, categories=tuple(str(c) for c in categories),
                     label=label, target=target, enabled=bool(enabled))
    return spec, missing


def _check_settings(settings: dict[str, Any], where: str) -> None:
    """The settings the config itself understands: price, price_as, served_name."""
    if "price" in settings:
        check_price(settings["price"], where)
    if "price_as" in settings:
        ModelSpec.parse(str(settings["price_as"]), source=f"{where}: price_as")
    served = settings.get("served_name")
    if "served_name" in settings and (not isinstance(served, str) or not served.strip()):
        raise ConfigError(f"{where}: served_name must be the model id the server expects")


def _expand(value: Any) -> tuple[Any, list[str]]:
    """Expand ``${VAR}`` / ``${VAR:-default}`` recursively; return the unset names too."""
    missing: list[str] = []

    def sub(match: re.Match[str]) -> str:
        var, default = match.group(1), match.group(2)
        if var in os.environ:
            return os.environ[var]
        if default is not None:
            return default
        missing.append(var)
        return ""

    def walk(node: Any) -> Any:
        if isinstance(node, str):
            return _ENV_REF.sub(sub, node)
        if isinstance(node, dict):
            return {k: walk(v) for k, v in node.items()}
        if isinstance(node, list):
            return [walk(v) for v in node]
        return node

    return walk(value), missing


def select_models(cli_models: str | None, categories: str | None, file_config: ModelsConfig,
                  default: str, source: str = "--llmbench-models") -> list[ModelSpec]:
    """The models of this run: named ones (merged with their config entries), else the
    config file's enabled models (filtered by category), else the embedded default."""
    wanted_categories = {c.strip() for c in (categories or "").split(",") if c.strip()}
    if cli_models:
        specs = []
        for text in (t.strip() for t in cli_models.split(",") if t.strip()):
            known = file_config.find(text)
            text = file_config.aliases.get(text, text)
            specs.append(known if known is not None else ModelSpec.parse(text, source=source))
        if wanted_categories:
            specs = [s for s in specs if wanted_categories & set(s.categories)]
    elif file_config.models:
        specs = [s for s in file_config.models if s.enabled]
        if wanted_categories:
            specs = [s for s in specs if wanted_categories & set(s.categories)]
            if not specs:
                named = sorted({c for s in file_config.models for c in s.categories})
                raise ConfigError(f"--llmbench-category {categories}: no enabled model in "
                                  f"{file_config.path} has it (known: {', '.join(named) or 'none'})")
    else:
        specs = [ModelSpec.parse(default)]
    seen: set[str] = set()
    unique = []
    for spec in specs:
        if spec.name not in seen:
            seen.add(spec.name)
            unique.append(spec)
        missing = file_config.missing_env.get(spec.name)
        if missing:
            raise ConfigError(f"{file_config.path}: model {spec.name} needs environment variable "
                              f"{missing[0]} (unset; use ${{{missing[0]}:-default}} for a fallback)")
    return unique


def redact(mapping: dict[str, Any]) -> dict[str, Any]:
    """A copy with secret-looking values replaced, for records, run.json and reports."""
    out: dict[str, Any] = {}
    for key, value in mapping.items():
        if any(hint in key.lower() for hint in _SECRET_HINTS):
            out[key] = "***"
        elif isinstance(value, dict):
            out[key] = redact(value)
        else:
            out[key] = value
    return out
