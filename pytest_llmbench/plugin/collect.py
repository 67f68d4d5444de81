"""Collection: YAML suite files and marked Python tests become real Function items.

A suite file is collected as a pytest Module whose object is a synthetic module
holding one test function named after the suite, and it makes one ordinary
``pytest.Function`` item per (model x variant x case) itself: fixtures, conftest
autouse fixtures, markers, ``-k``, ``--lf`` and JUnit XML all work, with one
readable id per item: ``gsm8k[openai:gpt-4o/q0017]``. The item's model and case
ride in its stash instead of a pytest parameter: a parameter costs every item a
pseudo-fixture set up and torn down, about a quarter of pytest's own time per test.
Python benchmark functions are parametrized over (model, case) as usual.
"""

from __future__ import annotations

import re
import types
from pathlib import Path
from typing import Any

import pytest

from pytest_llmbench.config import CONFIG_FILE_NAMES
from pytest_llmbench.errors import LLMBenchError, SuiteError
from pytest_llmbench.plugin.fixtures import SUITE_ITEM, SuiteItem, suite_test
from pytest_llmbench.plugin.session import LLMBenchSession
from pytest_llmbench.plugin.stash import bench_session
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
        return synthetic_module(self.path, self.suite.name, suite_test)

    def collect(self) -> list[pytest.Item | pytest.Collector]:
        """One Function per (model x variant x case), sharing one fixture closure."""
        self.obj  # noqa: B018 - loads the suite (or the placeholder of an unavailable one)
        if self.suite is None:
            return list(super().collect())
        session = bench_session(self.config)
        name, models, cases = self.suite.name, session.models, self.suite.cases
        variants = _variants(session, self.suite, self.nodeid)
        values = [SuiteItem(model, case, variant)
                  for model in models for variant in variants for case in cases]
        items: list[pytest.Item | pytest.Collector] = []
        mark = pytest.mark.llmbench(suite=name).mark
        fixtureinfo = None
        for value, item_id in zip(values, _ids(models, cases, variants), strict=True):
            item = pytest.Function.from_parent(self, name=f"{name}[{item_id}]", callobj=suite_test,
                                               fixtureinfo=fixtureinfo)
            fixtureinfo = item._fixtureinfo  # computed by the first item, the same for all
            item.originalname = name  # as parametrized items have it (the node id keeps [..])
            _as_parametrized_id(item)
            item.own_markers.append(mark)
            item.stash[SUITE_ITEM] = value
            items.append(item)
        return items

    def istestfunction(self, obj: object, name: str) -> bool:
        if self.suite is None:
            return name == _UNAVAILABLE
        return name == self.suite.name

    def istestclass(self, obj: object, name: str) -> bool:
        return False

    def reportinfo(self) -> tuple[Path, int, str]:
        return self.path, 0, f"suite: {self.suite.name if self.suite else self.path.name}"


def _as_parametrized_id(item: pytest.Function) -> None:
    """pytest 9 keeps node ids structured (path, names, ``[params]``) and matches ``--lf``,
    ``--sw`` and ``--deselect`` on that structure: give a suite item the id a parametrized
    item with the same node id string has. Earlier pytest compares the strings."""
    node_id = getattr(item, "_id", None)
    parse = getattr(type(node_id), "parse", None)
    if parse is not None:
        item._id = parse(item.nodeid)


def _unavailable_module(path: Path, exc: DatasetUnavailable) -> types.ModuleType:
    """A suite whose data cannot be had here (not installed, not cached, offline): one
    skipped item with the reason, so ``pytest bench_suites`` still passes."""
    @pytest.mark.skip(reason=f"dataset unavailable: {exc}")
    def dataset_unavailable() -> None:
        """Placeholder for a suite whose dataset is unavailable."""

    return synthetic_module(path, _UNAVAILABLE, dataset_unavailable)


def synthetic_module(path: Path, name: str, function: Any) -> types.ModuleType:
    """The module object a YAML file is collected as: one test function, ``name``."""
    module = types.ModuleType(path.stem)
    module.__file__ = str(path)
    setattr(module, name, function)
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
