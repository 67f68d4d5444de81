"""Target declarations: the ``targets:`` section of the models config file.

A target is a server the run benchmarks: a Docker container, a local process
or a URL that already answers. A target whose fields mention ``{commit}`` is a
template, expanded into one target per commit of ``--llmbench-commits`` (one
image per build of the engine). Parsing is pure and deterministic, so the
controller and every xdist worker derive the same targets.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from typing import Any

from pytest_llmbench.errors import ConfigError

KINDS = ("docker", "process", "url")
_PLACEHOLDER = re.compile(r"\{(commit|port|name|host)\}")
_NAME = re.compile(r"^[A-Za-z0-9_.-]+$")
_KEYS = {"kind", "image", "command", "env", "port", "host", "url", "network", "ports", "volumes",
         "shm_size", "gpus", "health", "startup_timeout", "stop_timeout", "commit", "workdir"}


@dataclass(frozen=True)
class TargetSpec:
    """One declared target (after template expansion)."""

    name: str
    kind: str
    image: str | None = None
    command: str | list[str] | None = None
    env: dict[str, str] = field(default_factory=dict, hash=False)
    port: int | str | None = None
    """The port it serves on (``auto``: a free one, given to the command as ``{port}``)."""
    host: str = "127.0.0.1"
    """The address clients (every xdist worker) use to reach it."""
    url: str | None = None
    network: str | None = "host"
    ports: dict[str, int] = field(default_factory=dict, hash=False)
    volumes: list[str] = field(default_factory=list, hash=False)
    shm_size: str | None = None
    gpus: str | int | list[str] | None = None
    health: str = "/health"
    startup_timeout: float = 600.0
    stop_timeout: float = 10.0
    commit: str | None = None
    workdir: str | None = None
    template: str | None = None
    """The template's name when this target was expanded from one."""

    def fill(self, text: str, port: int | None = None) -> str:
        """``text`` with ``{commit}``, ``{port}``, ``{name}`` and ``{host}`` filled in."""
        values = {"commit": self.commit or "", "name": self.name, "host": self.host,
                  "port": "" if port is None else str(port)}
        return _PLACEHOLDER.sub(lambda m: values[m.group(1)], text)

    def base_url(self, port: int | None) -> str:
        if self.url:
            return self.fill(self.url, port).rstrip("/")
        if port is None:
            raise ConfigError(f"target {self.name}: set 'port' (or 'url')")
        return f"http://{self.host}:{port}"

    def health_url(self, base_url: str, port: int | None) -> str:
        health = self.fill(self.health, port)
        return health if "://" in health else base_url + "/" + health.lstrip("/")


@dataclass
class TargetsConfig:
    """Declared targets by name, and templates by name (expanded once commits are known)."""

    targets: dict[str, TargetSpec] = field(default_factory=dict)
    templates: dict[str, TargetSpec] = field(default_factory=dict)
    expanded: dict[str, list[str]] = field(default_factory=dict)
    """Template name -> the names of the targets made from it."""


def parse_targets(raw: Any, where: str) -> TargetsConfig:
    """The ``targets:`` mapping of a config file; ``where`` names the file in errors."""
    result = TargetsConfig()
    if raw is None:
        return result
    if not isinstance(raw, dict):
        raise ConfigError(f"{where}: 'targets' must map a target name to its settings")
    for name, body in raw.items():
        spec = _parse_one(str(name), body, f"{where}: targets.{name}")
        if _is_template(body):
            result.templates[spec.name] = spec
        else:
            result.targets[spec.name] = spec
    return result


def _parse_one(name: str, body: Any, where: str) -> TargetSpec:
    if not _NAME.match(name):
        raise ConfigError(f"{where}: a target name may hold only letters, digits, '_', '.', '-'")
    if not isinstance(body, dict):
        raise ConfigError(f"{where}: expected a mapping (image:, command: or url:)")
    unknown = set(body) - _KEYS
    if unknown:
        raise ConfigError(f"{where}: unknown keys {sorted(unknown)} (known: {sorted(_KEYS)})")
    kind = body.get("kind") or ("docker" if "image" in body else
                                "process" if "command" in body else "url" if "url" in body
                                else None)
    if kind not in KINDS:
        raise ConfigError(f"{where}: kind must be one of {list(KINDS)} (or give image:, "
                          "command: or url:)")
    needs = {"docker": "image", "process": "command", "url": "url"}[kind]
    if not body.get(needs):
        raise ConfigError(f"{where}: a {kind} target needs '{needs}'")
    port = body.get("port")
    if port is not None and port != "auto" and not (isinstance(port, int) and 0 < port < 65536):
        raise ConfigError(f"{where}: port must be a port number or 'auto'")
    if kind != "url" and port is None and not body.get("url"):
        raise ConfigError(f"{where}: set 'port' (a number or 'auto') or 'url'")
    gpus = body.get("gpus")
    if gpus is not None and not (gpus == "all" or (isinstance(gpus, int) and gpus > 0)
                                 or isinstance(gpus, list)):
        raise ConfigError(f"{where}: gpus must be 'all', a count or a list of GPU ids")
    env = body.get("env") or {}
    volumes = body.get("volumes") or []
    ports = body.get("ports") or {}
    if not isinstance(env, dict) or not isinstance(volumes, list) or not isinstance(ports, dict):
        raise ConfigError(f"{where}: env and ports must be mappings, volumes a list")
    try:
        startup = float(body.get("startup_timeout", 600.0))
        stop = float(body.get("stop_timeout", 10.0))
    except (TypeError, ValueError):
        raise ConfigError(f"{where}: startup_timeout and stop_timeout are seconds") from None
    return TargetSpec(
        name=name, kind=kind, image=body.get("image"), command=body.get("command"),
        env={str(k): str(v) for k, v in env.items()}, port=port,
        host=str(body.get("host") or "127.0.0.1"), url=body.get("url"),
        network=body.get("network", "host"), ports={str(k): int(v) for k, v in ports.items()},
        volumes=[str(v) for v in volumes], shm_size=body.get("shm_size"),
        gpus=[str(g) for g in gpus] if isinstance(gpus, list) else gpus,
        health=str(body.get("health") or "/health"), startup_timeout=startup,
        stop_timeout=stop, commit=str(body["commit"]) if body.get("commit") else None,
        workdir=body.get("workdir"))


def _is_template(body: Any) -> bool:
    return "{commit}" in repr(body) and not (isinstance(body, dict) and body.get("commit"))


def parse_commits(text: str | None, source: str = "--llmbench-commits") -> list[tuple[str, str]]:
    """``abc123,def456`` or ``baseline=abc123,agent=def456`` -> [(label, commit)]; a bare
    commit is its own label."""
    pairs = []
    for item in (t.strip() for t in (text or "").split(",") if t.strip()):
        label, sep, commit = item.partition("=")
        label, commit = (label.strip(), commit.strip()) if sep else (item, item)
        if not commit or not _NAME.match(label):
            raise ConfigError(f"{source}: {item!r} is not COMMIT or LABEL=COMMIT")
        pairs.append((label, commit))
    return pairs


def expand_templates(config: TargetsConfig, commits: list[tuple[str, str]],
                     used: set[str]) -> None:
    """One target per commit for each template in ``used``: named after the commit's label
    when it has one (``baseline=abc``), else ``<template>-<commit>``; with several templates
    used, ``<template>-<label>`` (one target per template and commit)."""
    several = sum(name in used for name in config.templates) > 1
    for name, template in config.templates.items():
        if name not in used:
            continue
        if not commits:
            raise ConfigError(f"target {name} is a template ({{commit}} in its settings): "
                              "pass --llmbench-commits a,b (or label=commit,...)")
        names = []
        for label, commit in commits:
            target_name = label if label != commit and not several else f"{name}-{label}"
            if target_name in config.targets:
                raise ConfigError(f"target {target_name} (template {name}, commit {commit}) "
                                  "is already declared")
            spec = replace(template, name=target_name, commit=commit, template=name)
            config.targets[target_name] = spec
            names.append(target_name)
        config.expanded[name] = names
