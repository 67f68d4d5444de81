"""A task's timed benchmark, as its front matter declares it (``perf:``).

``perf: {command: "python3 bench.py", baseline: measure, repeat: 5}`` makes an
optimisation task: a solved attempt is also timed, and its speedup is the baseline time
over its own. Parsing only; the timing itself is :mod:`agents.perf`.
"""

from __future__ import annotations

import math
import re
import shlex
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

PERF_KEYS = ("command", "baseline", "repeat", "files", "output", "timeout_s", "min_speedup")
DEFAULT_REPEAT = 5
DEFAULT_TIMEOUT_S = 60.0
DEFAULT_MIN_SPEEDUP = 1.1  # Opt@k counts attempts at least this much faster (PIE's %OPT)
BASELINE_OUTPUT = "baseline"  # output: every run must print what the baseline printed
SEED_VARIABLE = "LLMBENCH_PERF_SEED"  # a random seed, the same for every tree of a task
REFERENCE_PATCH = "reference.patch"
REFERENCE_FOLDER = "solution"


@dataclass(frozen=True)
class PerfSpec:
    """How to time a task's result.

    ``baseline_s`` given in seconds, or None: measured on the starting tree.
    ``files``: paths of the work tree put back from the starting tree before the check
    and the timing (by default the command's words that name files there), so the
    agent cannot edit the benchmark. ``reference``: a human solution
    (``reference.patch`` or a ``solution/`` folder beside task.md), timed for comparison.
    """

    command: str
    baseline_s: float | None = None
    repeat: int = DEFAULT_REPEAT
    files: tuple[str, ...] | None = None
    output: str | None = None  # a regex every timed run's output must match, or "baseline"
    timeout_s: float = DEFAULT_TIMEOUT_S  # per run
    min_speedup: float = DEFAULT_MIN_SPEEDUP
    reference: Path | None = None

    def protected(self, pristine: Path) -> list[str]:
        """The work-tree paths restored from ``pristine`` (the starting tree)."""
        if self.files is not None:
            return list(self.files)
        try:
            words = shlex.split(self.command)
        except ValueError:
            words = self.command.split()
        return sorted({str(PurePosixPath(w)) for w in words
                       if _relative(w) and (pristine / w).is_file()})


def _relative(path: str) -> bool:
    """A path inside the work tree (not absolute, no ``..``, not the tree itself)."""
    pure = PurePosixPath(path)
    return not pure.is_absolute() and ".." not in pure.parts and str(pure) != "."


def _positive(value: Any, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) \
            or not math.isfinite(value) or value <= 0:
        raise ValueError(f"perf.{what} must be a positive number, not {value!r}")
    return float(value)


def parse_perf(value: Any, folder: Path) -> PerfSpec:
    """The ``perf:`` mapping of a task in ``folder``; ``ValueError`` with the reason."""
    if isinstance(value, str):
        value = {"command": value}
    if not isinstance(value, dict):
        raise ValueError("perf must be a mapping like {command: \"python3 bench.py\", "
                         "baseline: measure, repeat: 5}")
    unknown = sorted(set(value) - set(PERF_KEYS))
    if unknown:
        raise ValueError(f"unknown perf key {unknown[0]!r} (known: {', '.join(PERF_KEYS)})")
    command = value.get("command")
    if not isinstance(command, str) or not command.strip():
        raise ValueError("perf.command (the command to time) is required")
    baseline = value.get("baseline", "measure")
    baseline_s = None if baseline == "measure" else _positive(baseline, "baseline "
                                                               "(seconds, or `measure`)")
    repeat = value.get("repeat", DEFAULT_REPEAT)
    if isinstance(repeat, bool) or not isinstance(repeat, int) or not 1 <= repeat <= 1000:
        raise ValueError(f"perf.repeat must be a whole number from 1 to 1000, not {repeat!r}")
    files = value.get("files")
    if files is not None:
        if isinstance(files, str):
            files = [files]
        if not isinstance(files, list) or not all(isinstance(f, str) and _relative(f)
                                                  for f in files):
            raise ValueError("perf.files must be a list of paths relative to the work tree")
        files = tuple(str(PurePosixPath(f)) for f in files)
    output = value.get("output")
    if output == BASELINE_OUTPUT and baseline_s is not None:
        raise ValueError("perf.output: baseline needs the baseline measured (baseline: measure)")
    if output is not None and output != BASELINE_OUTPUT:
        try:
            re.compile(str(output))
        except re.error as exc:
            raise ValueError(f"perf.output is not a regular expression: {exc}") from None
    patch, solution = folder / REFERENCE_PATCH, folder / REFERENCE_FOLDER
    return PerfSpec(command=command.strip(), baseline_s=baseline_s, repeat=repeat, files=files,
                    output=None if output is None else str(output),
                    timeout_s=_positive(value.get("timeout_s", DEFAULT_TIMEOUT_S), "timeout_s"),
                    min_speedup=_positive(value.get("min_speedup", DEFAULT_MIN_SPEEDUP),
                                          "min_speedup"),
                    reference=patch if patch.is_file() else
                    solution if solution.is_dir() else None)
