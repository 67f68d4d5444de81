"""Variants: named ways of asking a suite's cases (the third axis beside suites and models).

A variant overrides the suite's prompt template, system prompt, few-shot rows or
generation params, or names an ``optimizer`` (``module:function``) that produces
those settings once per (suite, model) from the suite's ``train`` split. This module
is plain Python: parsing, validation and applying settings to a Suite; the fitting
itself (model calls, run directory, locks) lives in ``pytest_llmbench.plugin.variants``.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pytest_llmbench.errors import SuiteError
from pytest_llmbench.suites.model import Case, Suite, placeholders

VARIANT_KEYS = {"description", "prompt", "system", "few_shot", "params", "optimizer"}
PROMPT_KEYS = ("system", "prompt", "few_shot", "params")  # what an optimizer may return
_NAME = re.compile(r"^[A-Za-z0-9_.-]+$")


class _Unset:
    def __repr__(self) -> str:
        return "<suite's>"


_UNSET: Any = _Unset()


@dataclass(frozen=True)
class Variant:
    """One named way of asking. ``system`` None removes the suite's system prompt; fields
    left unset keep the suite's. ``few_shot`` is rows, or an int: the first N train rows."""

    name: str
    description: str = ""
    prompt: str | None = None
    system: Any = _UNSET
    few_shot: list[dict[str, Any]] | int | None = None
    params: dict[str, Any] = field(default_factory=dict)
    optimizer: str | None = None  # "module:function", run once per (suite, model)

    def settings(self, suite: Suite) -> dict[str, Any]:
        """The prompt settings this variant asks with (before any optimizer ran)."""
        shots = self.few_shot
        if isinstance(shots, int):
            shots = [dict(c.row) for c in suite.train[:shots]]
        return {"system": suite.system if self.system is _UNSET else self.system,
                "prompt": self.prompt if self.prompt is not None else suite.prompt,
                "few_shot": suite.few_shot if shots is None else shots,
                "params": dict(self.params)}

    def describe(self) -> dict[str, Any]:
        """A JSON-able description for run.json and reports."""
        out: dict[str, Any] = {"name": self.name}
        for key in ("description", "prompt", "optimizer"):
            if getattr(self, key):
                out[key] = getattr(self, key)
        if self.system is not _UNSET:
            out["system"] = self.system
        if self.few_shot is not None:
            out["few_shot"] = self.few_shot if isinstance(self.few_shot, int) else len(self.few_shot)
        if self.params:
            out["params"] = dict(self.params)
        return out


def apply(suite: Suite, settings: dict[str, Any]) -> Suite:
    """A view of ``suite`` that asks with ``settings`` (its cases and scorer unchanged;
    the settings' params go over the suite's)."""
    return dataclasses.replace(suite, system=settings.get("system"),
                               prompt=settings.get("prompt") or suite.prompt,
                               few_shot=list(settings.get("few_shot") or []),
                               params={**suite.params, **(settings.get("params") or {})})


def check_settings(settings: Any, suite: Suite, source: str) -> dict[str, Any]:
    """An optimizer's result: a mapping of ``system``/``prompt``/``few_shot``/``params``,
    whose template only uses fields every case has."""
    if not isinstance(settings, dict) or not set(settings) <= set(PROMPT_KEYS):
        raise SuiteError(source, "an optimizer must return a dict with keys from "
                         f"{', '.join(PROMPT_KEYS)}; got {type(settings).__name__}"
                         f"{' ' + str(sorted(settings)) if isinstance(settings, dict) else ''}")
    for key in ("system", "prompt"):
        if settings.get(key) is not None and not isinstance(settings[key], str):
            raise SuiteError(source, f"optimizer result '{key}' must be a string")
    shots = settings.get("few_shot")
    if shots is not None and not (isinstance(shots, list)
                                  and all(isinstance(s, dict) for s in shots)):
        raise SuiteError(source, "optimizer result 'few_shot' must be a list of rows (dicts)")
    if settings.get("params") is not None and not isinstance(settings["params"], dict):
        raise SuiteError(source, "optimizer result 'params' must be a mapping")
    _check_fields(suite, settings.get("prompt"), settings.get("system"), source, None)
    return settings


def parse_variants(path: Path, data: Any, train: list[Case], suite_prompt: str,
                   cases: list[Case]) -> list[Variant]:
    """The ``variants:`` mapping of a suite file (name -> settings), validated."""
    spec = data.get("variants")
    if spec is None:
        return []
    if not isinstance(spec, dict) or not spec:
        raise SuiteError(path, "'variants' must be a mapping of name -> settings",
                         line=data.line_of("variants"))
    variants = []
    for name, body in spec.items():
        line = spec.line_of(name) if hasattr(spec, "line_of") else None
        if not _NAME.match(str(name)):
            raise SuiteError(path, f"variant name {name!r} may only use letters, digits, "
                             "'_', '-' and '.'", line=line)
        body = body or {}
        if not isinstance(body, dict):
            raise SuiteError(path, f"variant {name!r} must be a mapping", line=line)
        unknown = sorted(set(body) - VARIANT_KEYS)
        if unknown:
            raise SuiteError(path, f"variant {name!r}: unknown key {unknown[0]!r} (known: "
                             f"{', '.join(sorted(VARIANT_KEYS))})", line=line)
        variants.append(_variant(path, str(name), body, train, line))
    probe = Suite(name="", cases=cases, prompt=suite_prompt)
    for variant in variants:
        _check_fields(probe, variant.prompt,
                      variant.system if isinstance(variant.system, str) else None,
                      path, None, variant.name)
    return variants


def _variant(path: Path, name: str, body: dict[str, Any], train: list[Case],
             line: int | None) -> Variant:
    def fail(message: str) -> SuiteError:
        return SuiteError(path, f"variant {name!r}: {message}", line=line)

    for key in ("prompt", "description", "optimizer"):
        if body.get(key) is not None and not isinstance(body[key], str):
            raise fail(f"'{key}' must be a string")
    if "system" in body and body["system"] is not None and not isinstance(body["system"], str):
        raise fail("'system' must be a string, or null for none")
    params = body.get("params") or {}
    if not isinstance(params, dict):
        raise fail("'params' must be a mapping")
    shots = body.get("few_shot")
    if isinstance(shots, bool) or not (shots is None or isinstance(shots, int | list)):
        raise fail("'few_shot' must be a count of train rows (3) or a list of rows")
    if isinstance(shots, int) and shots > len(train):
        raise fail(f"few_shot: {shots} needs a 'train' split of at least {shots} rows "
                   f"(the suite has {len(train)})")
    if isinstance(shots, list):
        if not all(isinstance(s, dict) for s in shots):
            raise fail("'few_shot' rows must be mappings")
        shots = [dict(s) for s in shots]
    optimizer = body.get("optimizer")
    if optimizer is not None and not re.match(r"^[\w.]+:[\w.]+$", optimizer):
        raise fail(f"'optimizer' must be 'module:function', got {optimizer!r}")
    return Variant(name=name, description=body.get("description") or "",
                   prompt=body.get("prompt"),
                   system=body["system"] if "system" in body else _UNSET,
                   few_shot=shots, params=dict(params), optimizer=optimizer)


def _check_fields(suite: Suite, prompt: str | None, system: str | None, source: Any,
                  line: int | None, variant: str | None = None) -> None:
    needed = (placeholders(prompt) if prompt else []) + (placeholders(system) if system else [])
    for name in needed:
        missing = next((c for c in suite.cases if name not in c.row), None)
        if missing is not None:
            who = f"variant {variant!r}: " if variant else ""
            raise SuiteError(source, f"{who}case {missing.id!r} has no field {name!r} used "
                             "by the prompt template", line=line)


def select(suite: Suite, wanted: list[str] | None) -> list[Variant | None]:
    """The variants of ``suite`` to run: ``[None]`` when it declares none; with
    ``--llmbench-variants`` only those named (a suite with variants but none of the named
    ones is an error naming the suite)."""
    if not suite.variants:
        return [None]
    if not wanted:
        return list(suite.variants)
    chosen = [v for v in suite.variants if v.name in wanted]
    if not chosen:
        raise SuiteError(suite.path or suite.name, f"--llmbench-variants {','.join(wanted)}: "
                         f"suite {suite.name!r} has none of these (its variants: "
                         f"{', '.join(v.name for v in suite.variants)})")
    return chosen
