"""Which YAML files are benchmark suites: only those the user says are.

An installed plugin must never read a project's other YAML (Hydra configs, CI files,
fixtures) as a suite. A YAML file is a suite when it is named on the command line, when
it sits under a folder or matches a glob of the ``llmbench_suites`` ini option (default
``bench_suites``) and has a suite's top-level keys, or when it declares ``kind: suite``.
Plain Python (no pytest): the plugin's collection hook asks it about every YAML file.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Sequence
from pathlib import Path

SUITE_SUFFIXES = (".yaml", ".yml")
DEFAULT_SUITE_PATHS = ("bench_suites",)
MODELS_CONFIG_NAMES = ("llmbench.yaml", "llmbench.yml")
"""``config.CONFIG_FILE_NAMES``, never suites (kept here so this check imports nothing)."""
_HEAD = 65536
_DECLARED = re.compile(rb"^kind\s*:\s*['\"]?suite['\"]?\s*(#.*)?$", re.MULTILINE)
_SERVING = re.compile(rb"^kind\s*:\s*['\"]?serving\b", re.MULTILINE)
_SUITE_KEYS = re.compile(rb"^(dataset|rows|prompt|messages)\s*:", re.MULTILINE)
_GLOB = re.compile(r"[*?\[]")


def read_head(path: Path) -> bytes:
    try:
        with path.open("rb") as handle:
            return handle.read(_HEAD)
    except OSError:
        return b""


def declares_suite(head: bytes) -> bool:
    """A top-level ``kind: suite`` line: the file says it is a suite, wherever it lives."""
    return _DECLARED.search(head) is not None


def declares_serving(head: bytes) -> bool:
    """A top-level ``kind: serving`` line: a serving (load) suite, wherever it lives."""
    return _SERVING.search(head) is not None


def configured(path: Path, rootdir: Path, patterns: Sequence[str]) -> bool:
    """Is ``path`` under a configured folder or matched by a configured glob (both relative
    to the rootdir, or absolute)?"""
    for pattern in patterns:
        pattern = pattern.strip().rstrip("/")
        if not pattern:
            continue
        base = Path(pattern) if Path(pattern).is_absolute() else rootdir / pattern
        if _GLOB.search(pattern):
            target = path.as_posix() if Path(pattern).is_absolute() else _relative(path, rootdir)
            if target is not None and fnmatch.fnmatch(target, base.as_posix()
                                                      if Path(pattern).is_absolute() else pattern):
                return True
        elif path == base or base in path.parents:
            return True
    return False


def _relative(path: Path, rootdir: Path) -> str | None:
    try:
        return path.relative_to(rootdir).as_posix()
    except ValueError:
        return None


def is_suite_file(path: Path, *, explicit: bool, rootdir: Path,
                  patterns: Sequence[str] = DEFAULT_SUITE_PATHS,
                  excluded_names: Sequence[str] = MODELS_CONFIG_NAMES) -> bool:
    """True only for a YAML file the user made a suite (see the module docstring); any other
    YAML file is not read beyond its first 64 KiB and never an error."""
    if path.suffix not in SUITE_SUFFIXES or path.name in excluded_names:
        return False
    if explicit:
        return True
    head = read_head(path)
    if declares_suite(head):
        return True
    return configured(path, rootdir, patterns) and _SUITE_KEYS.search(head) is not None


__all__ = ["DEFAULT_SUITE_PATHS", "MODELS_CONFIG_NAMES", "SUITE_SUFFIXES", "configured", "declares_suite",
           "declares_serving", "is_suite_file", "read_head"]
