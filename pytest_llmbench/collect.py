"""Collection: YAML suite files and marked Python tests become real Function items.

A suite file is collected as a pytest Module whose object is a synthetic module
holding one test function named after the suite, so its items are ordinary
``pytest.Function`` items: fixtures, conftest autouse fixtures, markers, ``-k``,
``--lf`` and JUnit XML all work. Every benchmark function is parametrized here
over (model, case) with one readable id per item: ``gsm8k[openai:gpt-4o/q0017]``.
"""

from __future__ import annotations

import re
import types
from pathlib import Path
from typing import Any

import pytest

from pytest_llmbench.config import CONFIG_FILE_NAMES
from pytest_llmbench.errors import LLMBenchError, SuiteError
from pytest_llmbench.fixtures import SuiteItem, suite_test
from pytest_llmbench.session import LLMBenchSession
from pytest_llmbench.stash import bench_session
from pytest_llmbench.suites.loader import build_suite
from pytest_llmbench.suites.model import Suite
from pytest_llmbench.suites.sources import DatasetUnavailable
from pytest_llmbench.suites.variants import Variant, select

SUITE_SUFFIXES = (".yaml", ".yml")
_SUITE_SNIFF = re.compile(rb"^(dataset|rows|prompt)\s*:", re.MULTILINE)
MARKER = "llmbench"
_UNAVAILABLE = "dataset_unavailable"


def is_suite_file(file_path: Path, explicit: bool) -> bool:
    """YAML files with a top-level ``dataset:``, ``rows:`` or ``prompt:`` key are suites
    (any YAML file named on the command line is treated as one)."""
    if file_path.suffix not in SUITE_SUFFIXES or file_path.name in CONFIG_FILE_NAMES:
        return False
    if explicit:
        return True
    try:
        head = file_path.read_bytes()[:65536]
    except OSError:
        return False
    return bool(_SUITE_SNIFF.search(head))


class SuiteFile(pytest.Module):
    """A YAML suite file, collected like a test module with one test function."""

    suite: Suite | None = None

    def _getobj(self) -> types.ModuleType:
        session = bench_session(self.config)
        try:
            self.suite = session.load_suite(self.path)
            session.scorer_for(self.suite)  # a bad scorer: a collection error naming the file
        except DatasetUnavailable as exc:
            return _unavailable_module(self.path, exc)
        except LLMBenchError as exc:
            session.suite_errors.add(self.nodeid)
            raise self.CollectError(str(exc)) from None
        module = types.ModuleType(self.path.stem)
        module.__file__ = str(self.path)
        setattr(module, self.suite.name, suite_test)
        return module

    def istestfunction(self, obj: object, name: str) -> bool:
        if self.suite is None:
            return name == _UNAVAILABLE
        return name == self.suite.name

    def istestclass(self, obj: object, name: str) -> bool:
        return False

    def reportinfo(self) -> tuple[Path, int, str]:
        return self.path, 0, f"suite: {self.suite.name if self.suite else self.path.name}"


def _unavailable_module(path: Path, exc: DatasetUnavailable) -> types.ModuleType:
    """A suite whose data cannot be had here (not installed, not cached, offline): one
    skipped item with the reason, so ``pytest bench_suites`` still passes."""
    @pytest.mark.skip(reason=f"dataset unavailable: {exc}")
    def dataset_unavailable() -> None:
        """Placeholder for a suite whose dataset is unavailable."""

    module = types.ModuleType(path.stem)
    module.__file__ = str(path)
    setattr(module, _UNAVAILABLE, dataset_unavailable)
    return module


def suite_from_marker(session: LLMBenchSession, definition: Any) -> Suite | None:
    """The suite named by ``@pytest.mark.llmbench(suite=...)`` on a Python test."""
    marker = definition.get_closest_marker(MARKER)
    if marker is None:
        return None
    suite = marker.kwargs.get("suite", marker.args[0] if marker.args else None)
    if isinstance(suite, Suite):
        return session.register_suite(suite)
    if isinstance(suite, str | Path):
        path = Path(suite)
        if not path.is_absolute():
            path = Path(definition.path).parent / path
        return session.load_suite(path)
    rows = marker.kwargs.get("rows")
    if rows is not None:
        name = marker.kwargs.get("name", definition.originalname)
        extra = {k: v for k, v in marker.kwargs.items()
                 if k not in {"rows", "name", "train", "variants"}}
        built = build_suite(name=name, rows=[(dict(r), None) for r in rows],
                            path=Path(definition.path), **extra)
        train = marker.kwargs.get("train") or []
        built.train = build_suite(name=name, rows=[(dict(r), None) for r in train],
                                  prompt=built.prompt, expected=built.expected_field).cases
        built.variants = list(marker.kwargs.get("variants") or [])
        return session.register_suite(built)
    return None


def generate_tests(metafunc: pytest.Metafunc) -> None:
    """Parametrize benchmark functions over (model, case) with stable, readable ids."""
    names = metafunc.fixturenames
    parent = metafunc.definition.parent
    if isinstance(parent, SuiteFile) and metafunc.function is suite_test:
        _parametrize_suite_file(metafunc, parent)
        return
    if "llm_model" not in names and "bench_case" not in names:
        return
    session = bench_session(metafunc.config)
    models = session.models
    if "bench_case" not in names:
        metafunc.parametrize("llm_model", models, ids=[m.name for m in models], indirect=True)
        return
    try:
        suite = suite_from_marker(session, metafunc.definition)
    except LLMBenchError as exc:
        session.suite_errors.add(metafunc.definition.nodeid.split("::")[0])
        raise pytest.Collector.CollectError(str(exc)) from None
    if suite is None:
        raise pytest.Collector.CollectError(
            f"{metafunc.definition.nodeid}: uses bench_case but has no "
            "@pytest.mark.llmbench(suite=...) naming its suite")
    cases = suite.cases
    variants = _variants(session, suite, metafunc.definition.nodeid.split("::")[0])
    if "bench_variant" in names and variants != [None]:
        triples = [(m, v, c) for m in models for v in variants for c in cases]
        metafunc.parametrize(("llm_model", "bench_variant", "bench_case"), triples,
                             ids=_ids(models, cases, variants), indirect=True)
        return
    values = [(model, case) for model in models for case in cases]
    metafunc.parametrize(("llm_model", "bench_case"), values, ids=_ids(models, cases),
                         indirect=True)


def _parametrize_suite_file(metafunc: pytest.Metafunc, parent: SuiteFile) -> None:
    """A YAML suite's items: one direct ``bench_item`` parameter per (model x case)."""
    assert parent.suite is not None
    session = bench_session(metafunc.config)
    models, cases = session.models, parent.suite.cases
    variants = _variants(session, parent.suite, parent.nodeid)
    values = [SuiteItem(model, case, variant)
              for model in models for variant in variants for case in cases]
    metafunc.parametrize("bench_item", values, ids=_ids(models, cases, variants))


def _variants(session: LLMBenchSession, suite: Suite, nodeid: str) -> list[Variant | None]:
    """The suite's variants selected by ``--llmbench-variants`` ([None] when it has none)."""
    try:
        return select(suite, session.variants)
    except LLMBenchError as exc:
        session.suite_errors.add(nodeid)
        raise pytest.Collector.CollectError(str(exc)) from None


def _ids(models: list[Any], cases: list[Any],
         variants: list[Variant | None] | None = None) -> list[str]:
    """``model/case``, or ``model/variant/case`` when the suite declares variants."""
    return [f"{model.name}/{variant.name + '/' if variant else ''}{case.id}"
            for model in models for variant in variants or [None] for case in cases]


__all__ = ["SuiteError", "SuiteFile", "generate_tests", "is_suite_file"]
