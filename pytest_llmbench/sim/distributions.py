"""Latency and length distributions for simulated models.

A value is either a plain number (fixed) or a distribution, written in YAML
as a mapping (``{dist: normal, mean: 100, std: 10}``) or, also on the command
line, as a call (``normal(100, 10)``). Draws come from a caller-supplied
``random.Random`` so a seed makes runs repeatable.
"""

from __future__ import annotations

import math
import random
import re
from dataclasses import dataclass
from typing import Any

KINDS: dict[str, tuple[str, ...]] = {
    "fixed": ("value",),
    "normal": ("mean", "std"),
    "lognormal": ("mean", "std"),
    "uniform": ("min", "max"),
    "exponential": ("mean",),
}

_CALL = re.compile(r"^\s*([a-z]+)\s*\(([^)]*)\)\s*$")


class DistributionError(ValueError):
    """A distribution written in a form the simulator does not know."""


@dataclass(frozen=True)
class Distribution:
    """A non-negative random value; ``sample`` never returns less than ``low``."""

    kind: str = "fixed"
    a: float = 0.0
    b: float = 0.0
    low: float = 0.0
    high: float = math.inf

    @property
    def is_fixed(self) -> bool:
        return self.kind == "fixed"

    @property
    def mean(self) -> float:
        if self.kind == "uniform":
            return (self.a + self.b) / 2
        return self.a

    def sample(self, rng: random.Random) -> float:
        if self.kind == "fixed":
            value = self.a
        elif self.kind == "normal":
            value = rng.gauss(self.a, self.b)
        elif self.kind == "lognormal":
            # parametrised by the mean and std of the value itself, not of its log
            if self.a <= 0:
                value = 0.0
            else:
                sigma2 = math.log1p((self.b / self.a) ** 2)
                value = rng.lognormvariate(math.log(self.a) - sigma2 / 2, math.sqrt(sigma2))
        elif self.kind == "uniform":
            value = rng.uniform(self.a, self.b)
        else:  # exponential
            value = rng.expovariate(1.0 / self.a) if self.a > 0 else 0.0
        return min(max(value, self.low), self.high)

    def describe(self) -> str:
        if self.kind == "fixed":
            return f"{self.a:g}"
        names = KINDS[self.kind]
        args = ", ".join(f"{v:g}" for v in (self.a, self.b)[: len(names)])
        return f"{self.kind}({args})"


def parse_distribution(value: Any, what: str = "value") -> Distribution:
    """Read a number, a ``kind(a, b)`` string or a ``{dist: kind, ...}`` mapping."""
    if isinstance(value, Distribution):
        return value
    if isinstance(value, bool):
        raise DistributionError(f"{what}: expected a number or a distribution, got {value!r}")
    if isinstance(value, int | float):
        return _checked("fixed", [float(value)], {}, what)
    if isinstance(value, str):
        text = value.strip()
        try:
            return _checked("fixed", [float(text)], {}, what)
        except ValueError:
            pass
        match = _CALL.match(text)
        if not match:
            raise DistributionError(
                f"{what}: cannot read {value!r}; write a number, e.g. 100, or a call such as "
                "normal(100, 10), uniform(50, 150), lognormal(100, 30), exponential(100)"
            )
        kind, raw = match.group(1), match.group(2)
        try:
            args = [float(x) for x in raw.split(",") if x.strip()]
        except ValueError as exc:
            raise DistributionError(f"{what}: bad number in {value!r}") from exc
        return _checked(kind, args, {}, what)
    if isinstance(value, dict):
        kind = str(value.get("dist", value.get("kind", "fixed")))
        names = KINDS.get(kind)
        if names is None:
            raise DistributionError(
                f"{what}: unknown distribution {kind!r}; known: {sorted(KINDS)}")
        try:
            args = [float(value[n]) for n in names]
        except KeyError as exc:
            raise DistributionError(f"{what}: {kind} needs {', '.join(names)}") from exc
        bounds = {k: float(value[k]) for k in ("low", "high") if k in value}
        return _checked(kind, args, bounds, what)
    raise DistributionError(f"{what}: expected a number or a distribution, got {value!r}")


def _checked(kind: str, args: list[float], bounds: dict[str, float], what: str) -> Distribution:
    names = KINDS.get(kind)
    if names is None:
        raise DistributionError(
            f"{what}: unknown distribution {kind!r}; known: {sorted(KINDS)}")
    if len(args) != len(names):
        raise DistributionError(
            f"{what}: {kind} takes {len(names)} argument(s): {', '.join(names)}")
    if any(x < 0 or math.isnan(x) for x in args):
        raise DistributionError(f"{what}: values must be >= 0")
    a = args[0]
    b = args[1] if len(args) > 1 else 0.0
    if kind == "uniform" and b < a:
        raise DistributionError(f"{what}: uniform(min, max) needs min <= max")
    return Distribution(kind, a, b, bounds.get("low", 0.0), bounds.get("high", math.inf))
