"""Serving suite files (``kind: serving``): scenarios, prompts and SLOs.

A serving suite describes load, not questions: each scenario expands into
points (one concurrency level or one request rate each), and every
(model x point) becomes one test whose pass/fail is its SLOs. Parsing is
strict; every error names the file and line.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import yaml

from pytest_llmbench.errors import SuiteError
from pytest_llmbench.sim.distributions import Distribution, DistributionError, parse_distribution
from pytest_llmbench.suites import yaml_lines
from pytest_llmbench.suites.datasets import load_file
from pytest_llmbench.suites.yaml_lines import LineDict

TIME_METRICS = ("ttft", "tpot", "itl", "e2e", "wait")
STATS = ("mean", "std", "min", "max", "p50", "p90", "p95", "p99")
RATE_METRICS = ("request_throughput", "output_throughput", "input_throughput", "goodput")
RATIO_METRICS = ("error_rate",)
_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1000.0}
_SLO = re.compile(r"^\s*([a-z_0-9]+)\s*(<=|<|>=|>)\s*([0-9.eE+-]+)\s*([a-z/]*)\s*$")
_TOP_KEYS = {"kind", "name", "scenarios", "prompts", "max_tokens", "ignore_eos", "requests",
             "duration", "warmup", "slo", "seed", "params", "harness", "max_concurrency",
             "client", "processes"}
_SCENARIO_KEYS = {"concurrency", "rate", "arrival", "requests", "duration", "warmup", "slo",
                  "max_concurrency", "name", "processes"}


@dataclass(frozen=True)
class Slo:
    """One objective: ``ttft_p99 <= 500ms`` reads as metric ``ttft_p99``, op ``<=``,
    limit 500 (times in ms, rates per second)."""

    metric: str
    op: str
    limit: float
    text: str

    def holds(self, value: float | None) -> bool:
        if value is None or math.isnan(value):
            return False
        return {"<=": value <= self.limit, "<": value < self.limit,
                ">=": value >= self.limit, ">": value > self.limit}[self.op]

    @property
    def per_request(self) -> tuple[str, float] | None:
        """The per-request limit it implies for goodput (``ttft``, 500.0), vLLM style."""
        base, _, _ = self.metric.rpartition("_")
        if base in TIME_METRICS and self.op in ("<=", "<"):
            return base, self.limit
        return None


@dataclass(frozen=True)
class Prompts:
    """Synthetic prompts of ``input_tokens`` (a distribution) or rows of a dataset."""

    input_tokens: Distribution | None = None
    rows: tuple[Any, ...] = ()  # a prompt string or a messages list per row


@dataclass(frozen=True)
class Harness:
    """When the client counts as the bottleneck: CPU (cores busy) and event-loop lag."""

    max_cpu: float = 0.8
    max_loop_lag_ms: float = 20.0


@dataclass(frozen=True)
class Point:
    """One test: a concurrency level (closed loop) or a request rate (open loop)."""

    id: str
    concurrency: int | None = None
    rate: float | None = None
    arrival: str = "constant"
    max_concurrency: int | None = None
    requests: int | None = None
    duration_s: float | None = None
    warmup: int = 0
    slos: tuple[Slo, ...] = ()
    processes: int | str = 1
    """Load processes sharing the point (``serving.split``): a count or ``auto``."""


@dataclass
class ServingSuite:
    name: str
    path: Path
    points: list[Point]
    prompts: Prompts
    max_tokens: int | None = None
    ignore_eos: bool = False
    params: dict[str, Any] = field(default_factory=dict)
    seed: int = 0
    harness: Harness = Harness()
    client: str = "raw"
    """How OpenAI-chat providers are loaded: ``raw`` (plain httpx) or ``sdk`` (the SDK)."""


def is_serving_text(head: bytes) -> bool:
    return re.search(rb"^kind\s*:\s*['\"]?serving\b", head, re.MULTILINE) is not None


def load_serving_suite(path: Path) -> ServingSuite:
    try:
        data = yaml_lines.load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise SuiteError(path, f"invalid YAML: {getattr(exc, 'problem', exc)}",
                         line=mark.line + 1 if mark else None) from None
    except OSError as exc:
        raise SuiteError(path, f"cannot read: {exc.strerror}") from None
    if not isinstance(data, LineDict):
        raise SuiteError(path, "a serving suite must be a mapping")
    return _Parser(path, data).suite()


class _Parser:
    def __init__(self, path: Path, data: LineDict) -> None:
        self.path, self.data = path, data

    def fail(self, where: LineDict, key: str | None, message: str) -> SuiteError:
        return SuiteError(self.path, message, line=where.line_of(key) if key else where.line)

    def suite(self) -> ServingSuite:
        d = self.data
        self._unknown(d, _TOP_KEYS, "serving suite")
        name = str(d.get("name") or self.path.stem)
        scenarios = d.get("scenarios")
        if not isinstance(scenarios, list) or not scenarios:
            raise self.fail(d, "scenarios" if "scenarios" in d else None,
                            "scenarios: a non-empty list is required")
        slos = self._slos(d, d.get("slo"))
        defaults = {"requests": d.get("requests"), "duration": d.get("duration"),
                    "warmup": d.get("warmup", 0), "max_concurrency": d.get("max_concurrency")}
        points: list[Point] = []
        for scenario in scenarios:
            if not isinstance(scenario, LineDict):
                raise self.fail(d, "scenarios", "each scenario must be a mapping")
            points += self._points(scenario, defaults, slos)
        ids = [p.id for p in points]
        dupes = sorted({i for i in ids if ids.count(i) > 1})
        if dupes:
            raise self.fail(d, "scenarios", f"scenario points repeat: {', '.join(dupes)}")
        max_tokens = d.get("max_tokens")
        if max_tokens is not None and (not isinstance(max_tokens, int) or max_tokens < 1):
            raise self.fail(d, "max_tokens", "max_tokens must be a positive integer")
        params = d.get("params", {})
        if not isinstance(params, dict):
            raise self.fail(d, "params", "params must be a mapping")
        client = d.get("client", "raw")
        if client not in ("raw", "sdk"):
            raise self.fail(d, "client", f"client must be raw or sdk, not {client!r}")
        return ServingSuite(name=name, path=self.path, points=points, client=client,
                            prompts=self._prompts(d), max_tokens=max_tokens,
                            ignore_eos=bool(d.get("ignore_eos", False)), params=dict(params),
                            seed=self._int(d, "seed", 0, minimum=0), harness=self._harness(d))

    def _unknown(self, where: LineDict, known: set[str], what: str) -> None:
        for key in where:
            if key not in known:
                raise self.fail(where, key, f"unknown {what} key {key!r} "
                                f"(known: {', '.join(sorted(known))})")

    def _int(self, where: LineDict, key: str, default: Any, minimum: int = 1) -> Any:
        value = where.get(key, default)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
            raise self.fail(where, key, f"{key} must be an integer >= {minimum}, not {value!r}")
        return value

    def _points(self, s: LineDict, defaults: dict[str, Any], slos: tuple[Slo, ...]
                ) -> list[Point]:
        self._unknown(s, _SCENARIO_KEYS, "scenario")
        merged = LineDict({**defaults, **s})
        merged.line, merged.key_lines = s.line, s.key_lines
        requests = self._int(merged, "requests", None)
        duration = _seconds(merged.get("duration"))
        if merged.get("duration") is not None and duration is None:
            raise self.fail(s, "duration", f"duration must be like 30s or 2m, "
                            f"not {merged.get('duration')!r}")
        if requests is None and duration is None:
            raise self.fail(s, None, "a scenario needs requests: N or duration: 30s")
        common = {"requests": requests, "duration_s": duration,
                  "warmup": self._int(merged, "warmup", 0, minimum=0),
                  "max_concurrency": self._int(merged, "max_concurrency", None),
                  "processes": self._processes(s if "processes" in s else self.data),
                  "slos": self._slos(s, s["slo"]) if "slo" in s else slos}
        has_c, has_r = "concurrency" in s, "rate" in s
        if has_c == has_r:
            raise self.fail(s, None, "a scenario needs exactly one of concurrency: or rate:")
        key = "concurrency" if has_c else "rate"
        values = s[key] if isinstance(s[key], list) else [s[key]]
        points = []
        prefix = s.get("name")
        for value in values:
            if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0 or (
                    has_c and not isinstance(value, int)):
                raise self.fail(s, key, f"{key} values must be positive "
                                f"{'integers' if has_c else 'numbers'}, not {value!r}")
            if has_c:
                points.append(Point(id=f"{prefix or 'c'}{value}", concurrency=int(value),
                                    **common))
                continue
            arrival = s.get("arrival", "poisson")
            if arrival not in ("poisson", "constant"):
                raise self.fail(s, "arrival", f"arrival must be poisson or constant, "
                                f"not {arrival!r}")
            points.append(Point(id=f"{prefix or 'r'}{value:g}", rate=float(value),
                                arrival=arrival, **common))
        return points

    def _processes(self, where: LineDict) -> int | str:
        value = where.get("processes", 1)
        if value == "auto" or (isinstance(value, int) and not isinstance(value, bool)
                               and value >= 1):
            return cast("int | str", value)
        raise self.fail(where, "processes", f"processes must be an integer >= 1 or auto, "
                        f"not {value!r}")

    def _slos(self, where: LineDict, raw: Any) -> tuple[Slo, ...]:
        if raw is None:
            return ()
        items = raw if isinstance(raw, list) else [raw]
        return tuple(parse_slo(str(item), self.path, where.line_of("slo")) for item in items)

    def _prompts(self, d: LineDict) -> Prompts:
        if "prompts" not in d:
            return Prompts(input_tokens=parse_distribution(128))
        raw = d["prompts"]
        if not isinstance(raw, LineDict):
            raise self.fail(d, "prompts", "prompts must be a mapping "
                            "(input_tokens: N or dataset: FILE)")
        self._unknown(raw, {"input_tokens", "dataset", "field"}, "prompts")
        if "dataset" in raw:
            file = self.path.parent / str(raw["dataset"])
            column = str(raw.get("field", "prompt"))
            rows = []
            for row, line in load_file(file):
                value = row.get(column, row.get("messages"))
                if not isinstance(value, str | list):
                    raise SuiteError(file, f"row has no {column!r} (or messages) field",
                                     line=line)
                rows.append(value)
            if not rows:
                raise SuiteError(file, "dataset has no rows")
            return Prompts(rows=tuple(rows))
        try:
            tokens = parse_distribution(raw.get("input_tokens", 128), "input_tokens")
        except DistributionError as exc:
            raise self.fail(raw, "input_tokens", str(exc)) from None
        return Prompts(input_tokens=tokens)

    def _harness(self, d: LineDict) -> Harness:
        if "harness" not in d:
            return Harness()
        raw = d["harness"]
        if not isinstance(raw, LineDict):
            raise self.fail(d, "harness", "harness must be a mapping")
        self._unknown(raw, {"max_cpu", "max_loop_lag_ms"}, "harness")
        values = {}
        for key in ("max_cpu", "max_loop_lag_ms"):
            if key in raw:
                if isinstance(raw[key], bool) or not isinstance(raw[key], int | float):
                    raise self.fail(raw, key, f"{key} must be a number")
                values[key] = float(raw[key])
        return Harness(**values)


def parse_slo(text: str, path: Path | str = "<slo>", line: int | None = None) -> Slo:
    """``ttft_p99 <= 500ms``, ``tpot_p50 < 50ms``, ``request_throughput >= 10``,
    ``goodput >= 5``, ``error_rate <= 0.01``."""
    match = _SLO.match(text)
    if match is None:
        raise SuiteError(path, f"bad SLO {text!r} (write e.g. 'ttft_p99 <= 500ms')", line=line)
    metric, op, number, unit = match.groups()
    try:
        value = float(number)
    except ValueError:
        raise SuiteError(path, f"bad SLO {text!r}: {number!r} is not a number",
                         line=line) from None
    base, _, stat = metric.rpartition("_")
    if base in TIME_METRICS and stat in STATS:
        if unit not in _UNITS:
            raise SuiteError(path, f"bad SLO {text!r}: give a time unit (ms, s or us)",
                             line=line)
        return Slo(metric, op, value * _UNITS[unit], text.strip())
    if metric in RATE_METRICS + RATIO_METRICS:
        if unit not in ("", "/s", "req/s", "tok/s"):
            raise SuiteError(path, f"bad SLO {text!r}: unknown unit {unit!r}", line=line)
        return Slo(metric, op, value, text.strip())
    known = [f"{m}_{{{','.join(STATS)}}}" for m in TIME_METRICS] + list(RATE_METRICS) + list(
        RATIO_METRICS)
    raise SuiteError(path, f"bad SLO {text!r}: unknown metric {metric!r} "
                     f"(known: {', '.join(known)})", line=line)


def _seconds(value: Any) -> float | None:
    if value is None:
        return None
    if isinstance(value, int | float) and not isinstance(value, bool) and value > 0:
        return float(value)
    match = re.fullmatch(r"\s*([0-9.]+)\s*(ms|s|m|min)?\s*", str(value))
    if match is None:
        return None
    try:
        number = float(match.group(1))
    except ValueError:
        return None
    scale = {"ms": 1e-3, "s": 1.0, None: 1.0, "m": 60.0, "min": 60.0}[match.group(2)]
    return number * scale if number > 0 else None
