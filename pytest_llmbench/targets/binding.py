"""Which models run against which targets, and where their requests go.

A model names its target with ``@name`` (``vllm:meta-llama/Llama-3.1-8B@baseline``)
or ``target:`` in the config file. ``@`` splits only when what follows is a
declared target, so model ids that contain ``@`` (Vertex's
``claude-sonnet-4@20250514``) stay whole. A model naming a template runs once
per commit. Once the targets run, each bound model's requests go to its
target's URL (plus the provider's API path).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from pytest_llmbench.config import ModelSpec
from pytest_llmbench.errors import ConfigError
from pytest_llmbench.targets.spec import TargetsConfig, TargetSpec, expand_templates

_API_PATH = {"sim": "", "anthropic": "", "vertex": "", "bedrock": ""}
"""What each provider appends to a server's root URL (default: ``/v1``, OpenAI-compatible)."""
_URL_SETTING = {"bedrock": "endpoint_url"}


def resolve(models: list[ModelSpec], config: TargetsConfig, commits: list[tuple[str, str]],
            source: str) -> list[ModelSpec]:
    """The run's models with their targets resolved (``@name`` split, templates expanded)."""
    known = set(config.targets) | set(config.templates)
    split = [_split(m, known) for m in models]
    expand_templates(config, commits, {m.target for m in split if m.target})
    out: list[ModelSpec] = []
    for model in split:
        if model.target is None:
            out.append(model)
        elif model.target in config.expanded:
            out += [replace(model, target=name) for name in config.expanded[model.target]]
        elif model.target in config.targets:
            out.append(model)
        else:
            declared = ", ".join(sorted(known)) or "none"
            raise ConfigError(f"{source}: model {model.provider}:{model.model} names target "
                              f"{model.target!r}, which is not declared (targets: {declared})")
    return out


def _split(model: ModelSpec, known: set[str]) -> ModelSpec:
    if model.target is not None or "@" not in model.model:
        return model
    head, _, tail = model.model.rpartition("@")
    return replace(model, model=head, target=tail) if tail in known and head else model


def used_targets(models: list[ModelSpec], config: TargetsConfig) -> list[TargetSpec]:
    """The targets the models name, in the order first named (each started once)."""
    names = dict.fromkeys(m.target for m in models if m.target)
    return [config.targets[name] for name in names]


def bind(models: list[ModelSpec], endpoints: dict[str, dict[str, Any]]) -> list[ModelSpec]:
    """Point each model with a running target at it (``base_url`` = target URL + API path)."""
    out = []
    for model in models:
        endpoint = endpoints.get(model.target or "")
        if endpoint and endpoint.get("url"):
            setting = _URL_SETTING.get(model.provider, "base_url")
            url = endpoint["url"].rstrip("/") + _API_PATH.get(model.provider, "/v1")
            model = replace(model, settings={**model.settings, setting: url})
        out.append(model)
    return out


def baseline_names(names: list[str], templates: set[str], explicit: str | list[str] | None
                   ) -> list[str]:
    """The baseline targets or templates: ``--llmbench-baseline-target`` (comma-separated,
    or a list in the config file), else the target or template called ``baseline``, else
    the first target of the run."""
    given = explicit if isinstance(explicit, list) else str(explicit or "").split(",")
    chosen = [str(n).strip() for n in given if str(n).strip()]
    for name in chosen:
        if name not in names and name not in templates:
            raise ConfigError(f"--llmbench-baseline-target: {name!r} is not a target of "
                              f"this run (targets: {', '.join(names) or 'none'})")
    if chosen:
        return chosen
    if "baseline" in names or "baseline" in templates:
        return ["baseline"]
    return names[:1]


def baselines(specs: list[TargetSpec], explicit: str | list[str] | None) -> dict[str, str]:
    """Each target's baseline: the baseline target (or the target of a baseline template)
    with the same ``commit``, else the first baseline that is a target. A multi-commit run
    thus compares each commit's targets with that commit's own baseline."""
    names = [s.name for s in specs]
    chosen = baseline_names(names, {s.template for s in specs if s.template}, explicit)
    fallback = next((name for name in chosen if name in names), None)
    out = {}
    for spec in specs:
        own = next((s.name for s in specs if spec.commit and s.commit == spec.commit
                    and (s.name in chosen or s.template in chosen)), fallback)
        if own is not None:
            out[spec.name] = own
    return out


def baseline_target(names: list[str], explicit: str | None) -> str | None:
    """The first baseline that is a target (run.json's ``baseline_target``)."""
    chosen = baseline_names(names, set(), explicit)
    return next((name for name in chosen if name in names), None)
