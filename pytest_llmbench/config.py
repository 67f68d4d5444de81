"""Model specs and the models config file (``llmbench.yaml`` or ``[tool.llmbench]``).

A spec is ``provider:model``, split on the FIRST colon only, so Bedrock ids such as
``bedrock:us.anthropic.claude-opus-4-5-20251101-v1:0`` stay whole.
"""

from __future__ import annotations

import copy
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
            data = load_yaml(path.read_text(encoding="utf-8"))
        except yaml.YAMLError as exc:
            line = yaml_error_line(exc)
            where = f"{path}:{line}" if line is not None else str(path)
            raise ConfigError(f"{where}: invalid YAML: {yaml_error_text(exc)}") from None
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
    result.targets, _ = _expand(data.get("targets"), path, data.line_of("targets")
                                if hasattr(data, "line_of") else None)
    aliases = data.get("aliases") or {}
    if not isinstance(aliases, dict):
        raise ConfigError(f"{path}: 'aliases' must map a short name to provider:model")
    for alias, target in aliases.items():
        ModelSpec.parse(str(target), source=f"{path}: aliases.{alias}")
        result.aliases[str(alias)] = str(target).strip()
    settings = data.get("settings") or {}
    if not isinstance(settings, dict):
        raise ConfigError(f"{path}: 'settings' must be a mapping")
    result.settings, _ = _expand(settings, path, getattr(settings, "line", None))
    raw_models = data.get("models") or []
    if isinstance(raw_models, dict):
        entries = [_named(name, body) for name, body in raw_models.items()]
    elif isinstance(raw_models, list):
        entries = [{"name": e} if isinstance(e, str) else e for e in raw_models]
    else:
        raise ConfigError(f"{path}: 'models' must be a list or a mapping")
    for entry in entries:
        _check_keys(path, entry)
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


ENTRY_KEYS = frozenset({"name", "provider", "display_name", "label", "enabled", "api_key",
                        "settings", "params", "category", "categories", "target"})
"""A model entry's own keys: ours plus the batch runner's shape (``name``, ``provider``,
``display_name``, ``enabled``, ``api_key``, ``settings``)."""
CALL_SETTINGS = frozenset({
    "base_url", "api_key", "auth_token", "access_token", "headers", "timeout", "connect_timeout",
    "max_connections", "include_usage", "think_tags", "served_name", "price", "price_as",
    "max_retries", "retry_max_wait", "rate_limit", "api_version", "azure_endpoint",
    "azure_ad_token", "azure_deployment", "region", "profile", "endpoint_url",
    "aws_access_key_id", "aws_secret_access_key", "aws_session_token", "project_id",
    "databricks_host", "endpoint_id", "delay", "accuracy", "text",
    # provider batch APIs (providers/batch_*.py)
    "batch", "batch_price", "batch_max_requests", "batch_max_bytes", "batch_role_arn",
    "batch_s3_uri", "batch_timeout_hours", "s3_endpoint_url"})
"""Settings of how a model is called (the providers read them); any other key under
``settings:`` is a generation param sent with each request (``max_tokens: 2048``)."""


def _key_line(path: Path | None, name: Any, key: str) -> int | None:
    """The line of ``key`` in the models entry ``name`` (read again from the file only to
    word an error; None for pyproject.toml or when it cannot be found)."""
    if path is None or path.suffix not in (".yaml", ".yml"):
        return None
    try:
        root = yaml.compose(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError):
        return None

    def get(node: Any, wanted: str) -> Any:
        if isinstance(node, yaml.MappingNode):
            for key_node, value in node.value:
                if getattr(key_node, "value", None) == wanted:
                    return key_node, value
        return None, None

    _, models = get(root, "models")
    entries = []
    if isinstance(models, yaml.MappingNode):
        entries = [value for key_node, value in models.value if key_node.value == str(name)]
    elif isinstance(models, yaml.SequenceNode):
        entries = [item for item in models.value
                   if getattr(get(item, "name")[1], "value", None) == str(name)]
    for entry in entries:
        key_node, _ = get(entry, key)
        if key_node is not None:
            return int(key_node.start_mark.line) + 1
    return None


def _check_keys(path: Path | None, entry: Any) -> None:
    """An unknown key in a model entry is an error naming the file and line: a setting
    that is silently ignored is a setting that is never sent."""
    if not isinstance(entry, dict):
        return
    for key in entry:
        if key not in ENTRY_KEYS and key not in CALL_SETTINGS:
            line = _key_line(path, entry.get("name"), key)
            where = f"{path}:{line}" if line else f"{path}"
            raise ConfigError(
                f"{where}: model {entry.get('name')}: unknown key {key!r} (generation params "
                "go under 'params:' or 'settings:'; known: "
                f"{', '.join(sorted(ENTRY_KEYS | CALL_SETTINGS))})")

def _named(name: Any, body: Any) -> Any:
    """``name: {body}`` as one entry; a body that knows its lines (LineDict) keeps them."""
    if isinstance(body, dict) and hasattr(body, "key_lines"):
        entry = copy.copy(body)
        entry.setdefault("name", name)
        return entry
    return {"name": name, **(body or {})}


def _model_entry(path: Path | None, entry: Any, what: str = "model"
                 ) -> tuple[ModelSpec, list[str]]:
    """One ``models:`` (or ``judge:``) entry as a spec, with the env vars it lacks."""
    if not isinstance(entry, dict) or "name" not in entry:
        raise ConfigError(f"{path}: each {what} needs a 'name' (provider:model): {entry!r}")
    expanded, missing = _expand(entry, path, getattr(entry, "line", None))
    name = str(expanded.pop("name"))
    provider = expanded.pop("provider", None)
    if provider and not name.startswith(f"{provider}:"):  # the batch runner's shape
        name = f"{provider}:{name}"
    base = ModelSpec.parse(name, source=str(path))
    params = expanded.pop("params", None) or {}
    if not isinstance(params, dict):
        raise ConfigError(f"{path}: model {name}: 'params' must be a mapping")
    nested = expanded.pop("settings", None) or {}
    if not isinstance(nested, dict):
        raise ConfigError(f"{path}: model {name}: 'settings' must be a mapping")
    params = {**{k: v for k, v in nested.items() if k not in CALL_SETTINGS}, **params}
    expanded.update({k: v for k, v in nested.items() if k in CALL_SETTINGS})
    display = expanded.pop("display_name", None)
    if display is not None and expanded.get("label") is None:
        expanded["label"] = display
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
    if "batch_price" in settings:
        check_price(settings["batch_price"], f"{where}: batch_price")
    if "price_as" in settings:
        ModelSpec.parse(str(settings["price_as"]), source=f"{where}: price_as")
    served = settings.get("served_name")
    if "served_name" in settings and (not isinstance(served, str) or not served.strip()):
        raise ConfigError(f"{where}: served_name must be the model id the server expects")


def _expand(value: Any, path: Path | None = None, line: int | None = None
            ) -> tuple[Any, list[str]]:
    """Expand ``${VAR}`` / ``${VAR:-default}`` recursively; return the unset names too.
    A ``${`` left over (unclosed, or not a variable name) is an error naming file and line."""
    missing: list[str] = []

    def sub(match: re.Match[str]) -> str:
        var, default = match.group(1), match.group(2)
        if var in os.environ:
            return os.environ[var]
        if default is not None:
            return default
        missing.append(var)
        return ""

    def walk(node: Any, at: int | None) -> Any:
        if isinstance(node, str):
            rest = _ENV_REF.sub("", node)
            if "${" in rest:
                where = f"{path}:{at}" if at is not None else str(path)
                bad = rest[rest.index("${"):][:40]
                raise ConfigError(f"{where}: malformed environment reference {bad!r} "
                                  "(write ${VAR} or ${VAR:-default})")
            return _ENV_REF.sub(sub, node)
        if isinstance(node, dict):
            lines = getattr(node, "line_of", None)
            return {k: walk(v, lines(k) if lines else at) for k, v in node.items()}
        if isinstance(node, list):
            return [walk(v, getattr(v, "line", None) or at) for v in node]
        return node

    return walk(value, line), missing


_NODE_PARAMS = re.compile(r"::[^\[\]:]+\[(.+)\]$")


def node_id_models(args: Any) -> list[str]:
    """The models named by benchmark node ids on the command line (``suite.yaml::name[
    model/case]`` or ``[model/variant/case]``), so a printed failing id re-runs as printed.
    Case and variant names hold no ``/``, a model may (``openrouter:org/model``): both
    readings are returned; the one that collects nothing is dropped after collection."""
    found: list[str] = []
    for arg in args:
        match = _NODE_PARAMS.search(str(arg))
        if match is None or "/" not in match.group(1):
            continue
        parts = match.group(1).split("/")
        for cut in (len(parts) - 1, len(parts) - 2):
            candidate = "/".join(parts[:cut])
            if cut > 0 and ":" in candidate and candidate not in found:
                found.append(candidate)
    return found


def with_provider(text: str, provider: str | None, providers: Any = ()) -> str:
    """``provider:text`` for a bare model id when a default provider is set: an id whose
    text before the first colon is not a known provider (``amazon.nova-pro-v1:0``)."""
    if not provider or text.partition(":")[0] in providers:
        return text
    return f"{provider}:{text}"


def select_models(cli_models: str | None, categories: str | None, file_config: ModelsConfig,
                  default: str, source: str = "--llmbench-models",
                  default_provider: str | None = None, providers: Any = ()) -> list[ModelSpec]:
    """The models of this run: named ones (merged with their config entries), else the
    config file's enabled models (filtered by category), else the embedded default."""
    wanted_categories = {c.strip() for c in (categories or "").split(",") if c.strip()}
    if cli_models:
        specs = []
        for text in (t.strip() for t in cli_models.split(",") if t.strip()):
            known = file_config.find(text)
            text = file_config.aliases.get(text, text)
            if known is None:
                text = with_provider(text, default_provider, providers)
                known = file_config.find(text)
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
        if any(hint in key.lower().replace("tokens", "") for hint in _SECRET_HINTS):  # not max_tokens
            out[key] = "***"
        elif isinstance(value, dict):
            out[key] = redact(value)
        else:
            out[key] = value
    return out


# YAML ----------------------------------------------------------------------------------
# The one YAML loader of the project: safe, line-aware and strict about duplicate keys.
# PyYAML keeps the last of two equal keys silently; a suite or config with ``prompt:`` twice
# would run with a prompt its author did not mean. Every YAML file the project reads (suites,
# serving suites, the models config, simulator configs) goes through here, so a duplicate
# key is an error naming its line and the first one's. (Here, not in suites/, because this
# module imports nothing upward; suites.yaml_lines re-exports it.)


class LineDict(dict[str, Any]):
    """A dict that knows the 1-based line of itself and of each of its keys."""

    line: int = 0
    key_lines: dict[str, int]

    def line_of(self, key: str) -> int:
        return self.key_lines.get(key, self.line)


class _UniqueLoader(yaml.SafeLoader):
    """SafeLoader whose mappings reject duplicate keys (plain dicts)."""


class _LineLoader(_UniqueLoader):
    """Mappings come back as LineDict."""


def _pairs(loader: yaml.SafeLoader, node: yaml.MappingNode) -> list[tuple[Any, Any, int]]:
    loader.flatten_mapping(node)  # merge keys (<<) first: an override there is no duplicate
    seen: dict[Any, int] = {}
    out = []
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        line = key_node.start_mark.line + 1
        try:
            first = seen.get(key)
        except TypeError:  # an unhashable key: SafeLoader's own error names it
            raise yaml.constructor.ConstructorError(
                "while constructing a mapping", node.start_mark, "found unhashable key",
                key_node.start_mark) from None
        if first is not None:
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key {key!r} (first at line {first})",
                key_node.start_mark)
        seen[key] = line
        out.append((key, loader.construct_object(value_node, deep=True), line))
    return out


def _construct_line_mapping(loader: _LineLoader, node: yaml.MappingNode) -> LineDict:
    result = LineDict()
    result.line = node.start_mark.line + 1
    result.key_lines = {}
    for key, value, line in _pairs(loader, node):
        result[key] = value
        result.key_lines[str(key)] = line
    return result


def _construct_mapping(loader: _UniqueLoader, node: yaml.MappingNode) -> dict[Any, Any]:
    return {key: value for key, value, _ in _pairs(loader, node)}


_UniqueLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)
_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG,
                            _construct_line_mapping)


def load_yaml(text: str) -> Any:
    """Parse YAML; mappings come back as LineDict. Raises yaml.YAMLError."""
    return yaml.load(text, Loader=_LineLoader)  # noqa: S506 - SafeLoader subclass


def safe_load_yaml(text: str) -> Any:
    """``yaml.safe_load`` with duplicate keys rejected (plain dicts)."""
    return yaml.load(text, Loader=_UniqueLoader)  # noqa: S506 - SafeLoader subclass


def yaml_error_line(exc: yaml.YAMLError) -> int | None:
    """The 1-based line a YAML error points at, when it says."""
    mark = getattr(exc, "problem_mark", None)
    return mark.line + 1 if mark is not None else None


def yaml_error_text(exc: yaml.YAMLError) -> str:
    """The problem alone (``duplicate key 'prompt' (first at line 3)``), without the marks."""
    return str(getattr(exc, "problem", None) or exc)
