"""Fitting optimizer variants: once per (suite, variant, model) per run, in any process.

The first process (xdist worker or plain run) that needs a fitted prompt takes a file
lock in the run directory, runs the optimizer and writes
``variants/<suite>/<variant>/<model>.json`` (the produced prompt, its calls, cost and
time); every other process waits on the lock and reads that file. A file already in
the run directory (a resumed run) or in the run named by ``--llmbench-fitted`` is
reused without fitting. Also holds the applied views of plain variants, so a request
is built from the same cached Suite view every time.
"""

from __future__ import annotations

import importlib
import importlib.util
import json
import os
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from filelock import FileLock

from pytest_llmbench.config import ModelSpec
from pytest_llmbench.errors import LLMBenchError, SuiteError
from pytest_llmbench.providers.base import ChatRequest, Completion
from pytest_llmbench.scoring.base import as_score
from pytest_llmbench.suites.model import Case, Suite
from pytest_llmbench.suites.sources import load_module_file
from pytest_llmbench.suites.variants import Variant, apply, check_settings

FIT_DIR = "variants"
FITTED_FROM = "fitted_from"  # context key: the run directory to reuse fitted prompts from
_UNSAFE = re.compile(r"[^A-Za-z0-9._@:+=-]+")


def resolve_reuse(bench: Any, value: str | None) -> None:
    """On the controller: ``--llmbench-fitted RUN|latest`` resolved once (workers get the
    path in the run context; ``latest`` moves once this run writes its first record)."""
    if not value:
        return
    from pytest_llmbench.results.run_dir import resolve_run  # noqa: PLC0415

    try:
        bench.context[FITTED_FROM] = str(resolve_run(bench.output, value))
    except FileNotFoundError as exc:
        raise LLMBenchError(f"--llmbench-fitted: {exc}") from None


def fit_file(run_path: Path, suite: str, variant: str, model: str) -> Path:
    """Where a fitted prompt lives: ``variants/<suite>/<variant>/<model>.json``."""
    return run_path / FIT_DIR / _safe(suite) / _safe(variant) / f"{_safe(model)}.json"


def read_fits(run_path: Path) -> list[dict[str, Any]]:
    """Every fitted prompt of a run directory (for reports), sorted."""
    out = []
    for path in sorted((run_path / FIT_DIR).glob("*/*/*.json")):
        try:
            out.append(json.loads(path.read_text(encoding="utf-8")))
        except (OSError, ValueError):
            continue
    return out


@dataclass
class FitContext:
    """What an optimizer gets: the suite, its train split, and the model to fit for.

    ``ask`` calls the model (measured; cost and calls land in the fitted file),
    ``score`` grades an answer with the suite's scorer, ``messages`` builds the chat
    messages a candidate prompt would send. Return a dict with any of ``system``,
    ``prompt``, ``few_shot`` (rows) and ``params``.
    """

    suite: Suite
    variant: Variant
    model: str
    train: list[Case]
    base: dict[str, Any]  # the variant's own settings (system, prompt, few_shot, params)
    _call: Callable[[ChatRequest], Completion]
    _grade: Callable[[str, Case], bool]
    _spec: ModelSpec
    calls: int = 0
    cost_usd: float | None = 0.0
    input_tokens: int = 0
    output_tokens: int = 0

    def messages(self, case: Case, **settings: Any) -> list[dict[str, str]]:
        """The messages sent for ``case`` with the base settings overridden by ``settings``."""
        return apply(self.suite, {**self.base, **settings}).messages(case)

    def ask(self, messages: list[dict[str, str]], case: Case | None = None,
            **params: Any) -> str:
        """The model's answer to ``messages`` (``case``: a train case, so simulators and
        logs know which row is asked)."""
        metadata: dict[str, Any] = {"suite": self.suite.name, "variant": self.variant.name,
                                    "fit": True}
        if case is not None:
            metadata.update(case_id=train_id(case), expected=case.expected)
        request = ChatRequest(model=self._spec, messages=messages, metadata=metadata,
                              params={**self.suite.params, **self._spec.params,
                                      **self.base.get("params", {}), **params})
        completion = self._call(request)
        self.calls += 1
        self.input_tokens += completion.input_tokens or 0
        self.output_tokens += completion.output_tokens or 0
        if completion.cost_usd is None or self.cost_usd is None:
            self.cost_usd = None
        else:
            self.cost_usd += completion.cost_usd
        return completion.text

    def score(self, answer: str, case: Case) -> bool:
        """Whether ``answer`` is right for ``case`` by the suite's scorer."""
        return self._grade(answer, case)


def train_id(case: Case) -> str:
    """The case id a train row is asked under (``train/<id>``), apart from test ids."""
    return f"train/{case.id}"


@dataclass
class VariantFitter:
    """Per process: the settings each (suite, variant, model) asks with, fitted at most once
    per run across all processes."""

    run_path: Callable[[], Path]
    call: Callable[[ChatRequest], Completion]
    scorer_for: Callable[[Suite], Any]
    reuse_from: Path | None = None
    _views: dict[tuple[str, str, str], tuple[Suite, dict[str, Any]]] = field(default_factory=dict)
    _failed: dict[tuple[str, str, str], LLMBenchError] = field(default_factory=dict)

    def view(self, suite: Suite, variant: Variant, model: ModelSpec
             ) -> tuple[Suite, dict[str, Any]]:
        """The suite as this variant asks it for this model, and the variant's own params
        (they go over the model's)."""
        key = (suite.name, variant.name, model.name if variant.optimizer else "")
        cached = self._views.get(key)
        if cached is not None:
            return cached
        if key in self._failed:
            raise self._failed[key]
        settings = variant.settings(suite)
        if variant.optimizer:
            try:
                fitted = self._fitted(suite, variant, model, settings)
            except LLMBenchError as exc:
                self._failed[key] = exc
                raise
            settings = {**settings, **fitted,
                        "params": {**settings["params"], **(fitted.get("params") or {})}}
        view = self._views[key] = (apply(suite, settings), dict(settings["params"]))
        return view

    def _fitted(self, suite: Suite, variant: Variant, model: ModelSpec,
                settings: dict[str, Any]) -> dict[str, Any]:
        path = fit_file(self.run_path(), suite.name, variant.name, model.name)
        path.parent.mkdir(parents=True, exist_ok=True)
        with FileLock(str(path) + ".lock"):
            data = _load(path, variant)
            if data is None and self.reuse_from is not None:
                data = _load(fit_file(self.reuse_from, suite.name, variant.name, model.name),
                             variant)
                if data is not None:
                    data["reused_from"] = data.get("reused_from") or self.reuse_from.name
                    _write(path, data)
            if data is None:
                data = self._fit(suite, variant, model, settings)
                _write(path, data)
        return check_settings(data["prompt"], suite, f"{path}")

    def _fit(self, suite: Suite, variant: Variant, model: ModelSpec,
             settings: dict[str, Any]) -> dict[str, Any]:
        source = f"{suite.path or suite.name}: variant {variant.name!r}"
        function = load_callable(str(variant.optimizer), suite.path, source)
        scorer = self.scorer_for(suite)
        context = FitContext(suite=suite, variant=variant, model=model.name, train=suite.train,
                             base=settings, _call=self.call, _spec=model,
                             _grade=lambda answer, case: as_score(scorer(answer, case)).passed)
        started = time.perf_counter()
        try:
            result = function(context)
        except LLMBenchError as exc:
            raise LLMBenchError(f"{source}: optimizer {variant.optimizer} failed: {exc}") from None
        except Exception as exc:  # noqa: BLE001 - user code: one clear line
            raise LLMBenchError(f"{source}: optimizer {variant.optimizer} failed: "
                                f"{type(exc).__name__}: {exc}") from None
        elapsed = time.perf_counter() - started
        check_settings(result, suite, f"{source}: optimizer {variant.optimizer}")
        return {"suite": suite.name, "variant": variant.name, "model": model.name,
                "optimizer": variant.optimizer, "prompt": result, "calls": context.calls,
                "cost_usd": context.cost_usd, "input_tokens": context.input_tokens,
                "output_tokens": context.output_tokens, "time_s": round(elapsed, 6),
                "train_rows": len(suite.train), "fitted_at": time.time(),
                "worker": os.environ.get("PYTEST_XDIST_WORKER", "main"), "reused_from": None}


def load_callable(spec: str, suite_path: Path | None, source: str) -> Callable[..., Any]:
    """``module:function``: an importable module, else ``<module>.py`` beside the suite."""
    module_name, _, attr = spec.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        local = suite_path.parent / f"{module_name.replace('.', '/')}.py" if suite_path else None
        if exc.name != module_name.split(".")[0] or local is None or not local.is_file():
            raise SuiteError(source, f"optimizer {spec}: cannot import {module_name!r} "
                             f"({exc})") from None
        module = load_module_file(local)
    function = getattr(module, attr, None)
    if not callable(function):
        raise SuiteError(source, f"optimizer {spec}: {module_name} has no function {attr!r}")
    return function  # type: ignore[no-any-return]




def _load(path: Path, variant: Variant) -> dict[str, Any] | None:
    """A fitted file made by the same optimizer, else None (a changed optimizer refits)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or data.get("optimizer") != variant.optimizer:
        return None
    return data


def _write(path: Path, data: dict[str, Any]) -> None:
    tmp = path.with_suffix(f".tmp{os.getpid()}")
    tmp.write_text(json.dumps(data, indent=2, ensure_ascii=False, default=str), encoding="utf-8")
    os.replace(tmp, path)


def _safe(name: str) -> str:
    return _UNSAFE.sub("_", name).strip("_") or "_"
