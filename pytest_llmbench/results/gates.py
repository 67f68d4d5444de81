"""Suite-level gates (``accuracy>=0.8``, ``gsm8k:latency_p95<=2s``) deciding the exit status."""

from __future__ import annotations

import operator
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pytest_llmbench.errors import ConfigError

_PER_K = re.compile(r"^(pass_at|speedup_at|opt_at)_\d+$")
_GATE = re.compile(r"^\s*(?:(?P<suite>[^:<>=!\s]+)\s*:\s*)?(?:(?P<variant>[^:<>=!\s]+)\s*:\s*)?"
                   r"(?P<metric>[a-z_0-9]+)\s*"
                   r"(?P<op><=|>=|<|>|==)\s*(?P<value>[^\s]+)\s*$")
_OPS: dict[str, Callable[[Any, Any], bool]] = {
    "<=": operator.le, ">=": operator.ge, "<": operator.lt, ">": operator.gt, "==": operator.eq}
METRICS = ("accuracy", "error_rate", "extraction_failure_rate", "truncation_rate",
           "latency_p50", "latency_p95", "latency_p99", "ttft_p50", "ttft_p95", "output_tps",
           "cost_usd", "cost_per_correct")


@dataclass(frozen=True)
class Gate:
    suite: str | None
    metric: str
    op: str
    value: float
    text: str
    variant: str | None = None  # 'suite:variant:metric...'; '*' as suite: any suite

    def applies(self, row: dict[str, Any]) -> bool:
        return ((self.suite is None or self.suite == row["suite"])
                and (self.variant is None or self.variant == row.get("variant")))

    def check(self, row: dict[str, Any]) -> str | None:
        """None when the row passes, else a one-line reason."""
        actual = row.get(self.metric)
        where = f"{row['suite']}{'/' + row['variant'] if row.get('variant') else ''} x {row['model']}"
        if actual is None:
            if row.get("batch_items") and self.metric.startswith(("latency", "ttft", "output_tps")):
                why = "not measured in batch mode"
            else:
                why = "unknown" + (f"; {row['cached']} of {row.get('n')} answers came from the "
                                   "cache or a recording and were not timed"
                                   if row.get("cached") else "")
            return f"{where}: {self.text} cannot be checked ({self.metric} is {why})"
        if not _OPS[self.op](actual, self.value):
            return f"{where}: {self.metric} = {actual:.4g}, gate {self.text}"
        return None


def parse_gate(text: str, source: str = "--llmbench-gate", suite: str | None = None) -> Gate:
    match = _GATE.match(text)
    if not match:
        raise ConfigError(f"{source}: cannot parse gate {text!r} (e.g. 'accuracy>=0.8', "
                          "'gsm8k:latency_p95<=2s', 'gsm8k:few_shot:accuracy>=0.8')")
    metric = match["metric"]
    if metric not in METRICS and not _PER_K.match(metric):
        raise ConfigError(f"{source}: unknown gate metric {metric!r} (known: {', '.join(METRICS)}, "
                          "pass_at_K, speedup_at_K, opt_at_K)")
    raw = match["value"]
    try:
        if raw.endswith("%"):
            value = float(raw[:-1]) / 100
        elif raw.endswith("ms"):
            value = float(raw[:-2]) / 1000
        elif raw.endswith("s") and metric.startswith(("latency", "ttft")):
            value = float(raw[:-1])
        else:
            value = float(raw.lstrip("$"))
    except ValueError:
        raise ConfigError(f"{source}: bad value {raw!r} in gate {text!r}") from None
    first, variant = match["suite"], match["variant"]
    if suite is not None and first not in (None, suite, "*") and variant is None:
        first, variant = suite, first  # in a suite file's gates: 'variant:metric...'
    return Gate(suite=suite if first is None else (None if first == "*" else first),
                metric=metric, op=match["op"], value=value, text=text.strip(), variant=variant)


def evaluate(gates: list[Gate], rows: list[dict[str, Any]]) -> list[str]:
    """Every gate violation, one line each; an empty list means all gates passed."""
    failures = []
    for gate in gates:
        for row in rows:
            if gate.applies(row):
                reason = gate.check(row)
                if reason:
                    failures.append(reason)
    return failures
