"""Regression gates against a baseline run: ``accuracy -2pt``, ``latency_p95 +20%``.

Grammar (documented in docs/compare-ingest.md)::

    [SUITE:]METRIC (+|-)AMOUNT[pt|%|s|ms] [significant]
    [SUITE:]METRIC (drop|rise) > AMOUNT [points|pt|%|s|ms] [significant]

The sign names the bad direction and must match the metric's own (accuracy and
tokens/s are higher-is-better, so they regress by dropping; the rest regress by
rising). ``pt`` is absolute percentage points of a rate, ``%`` a change relative to
the baseline, ``s``/``ms`` an absolute latency change; a bare number is in the
metric's own unit. ``significant`` also requires McNemar p < 0.05 (accuracy) or
Mann-Whitney p < 0.05 on the raw samples (serving times such as ``ttft_p99``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from pytest_llmbench.errors import ConfigError

# serving points (compare rows with a ``point``): times in seconds, rates per second
SERVING_TIMES = tuple(f"{m}_{s}" for m in ("ttft", "tpot", "itl", "e2e") for s in ("p50", "p99"))
SERVING_RATES = ("request_throughput", "output_throughput", "goodput")
HIGHER_IS_BETTER = frozenset({"accuracy", "output_tps", *SERVING_RATES})
RATES = frozenset({"accuracy", "error_rate", "extraction_failure_rate"})
TIMES = frozenset({"latency_p50", "latency_p95", "latency_p99", "ttft_p50", "ttft_p95",
                   *SERVING_TIMES})
COMPARED = ("accuracy", "error_rate", "extraction_failure_rate", "latency_p50", "latency_p95",
            "latency_p99", "ttft_p50", "ttft_p95", "output_tps", "cost_usd", "cost_per_correct")
GATED = (*COMPARED, *(m for m in SERVING_TIMES if m not in COMPARED), *SERVING_RATES)
SIGNIFICANCE = 0.05

_EXPR = re.compile(
    r"^\s*(?:(?P<suite>[^:\s]+)\s*:\s*)?(?P<metric>[a-z_0-9]+)\s*"
    r"(?:(?P<sign>[+-])|(?P<word>drops?|decreases?|rises?|increases?)\s*>?)\s*"
    r"(?P<amount>\d+(?:\.\d+)?)\s*(?P<unit>pts?|points?|%|ms|s)?\s*(?P<sig>significant)?\s*$")


def higher_is_better(metric: str) -> bool:
    return metric in HIGHER_IS_BETTER


@dataclass(frozen=True)
class RegressionGate:
    suite: str | None
    metric: str
    amount: float  # in the unit below: points, percent, seconds or the metric's own
    unit: str  # "pt", "%" or "abs"
    significant: bool
    text: str

    def worsening(self, base: float, cand: float) -> float:
        """How much worse the candidate is, in this gate's unit (negative: better)."""
        # rounded so 0.9 -> 0.85 is a 5-point drop, not 5.000000000000004
        worse = round(base - cand if higher_is_better(self.metric) else cand - base, 12)
        if self.unit == "pt":
            return round(worse * 100, 9)
        if self.unit == "%":
            if base == 0:
                return float("inf") if worse > 0 else 0.0
            return round(worse / abs(base) * 100, 9)
        return worse

    def check(self, row: dict[str, Any]) -> str | None:
        """None when the compare row passes, else a one-line reason."""
        metric = row["metrics"].get(self.metric, {})
        base, cand = metric.get("baseline"), metric.get("candidate")
        where = row_label(row)
        if base is None and cand is None:
            return None
        if base is None or cand is None:
            return f"{where}: regression gate {self.text!r} cannot be checked ({self.metric} is unknown)"
        worse = self.worsening(base, cand)
        if worse <= self.amount:
            return None
        paired = row.get("paired") or {}
        # accuracy: McNemar on the paired cases; serving times: Mann-Whitney on raw samples
        p_value = (paired.get("mcnemar_p") if self.metric == "accuracy"
                   else (row.get("p_values") or {}).get(self.metric))
        if self.significant and (p_value is None or p_value >= SIGNIFICANCE):
            return None
        shown = f"{worse:.3g}{'pt' if self.unit == 'pt' else '%' if self.unit == '%' else ''}"
        test = "McNemar" if self.metric == "accuracy" else "Mann-Whitney"
        extra = f", {test} p={p_value:.3g}" if p_value is not None else ""
        return (f"{where}: {self.metric} {base:.4g} -> {cand:.4g} (worse by {shown}{extra}), "
                f"regression gate {self.text!r}")


def row_label(row: dict[str, Any]) -> str:
    target = f" @ {row['target']}" if row.get("target") else ""
    point = f"/{row['point']}" if row.get("point") else ""
    return f"{row['suite']} x {row['model']}{point}{target}"


def parse_regression(text: str, source: str = "--llmbench-regression") -> RegressionGate:
    match = _EXPR.match(text)
    if not match:
        raise ConfigError(f"{source}: cannot parse regression gate {text!r} (e.g. 'accuracy -2pt', "
                          "'latency_p95 +20%', 'gsm8k:accuracy drop > 2 points')")
    metric = match["metric"]
    if metric not in GATED:
        raise ConfigError(f"{source}: unknown metric {metric!r} in {text!r} "
                          f"(known: {', '.join(GATED)})")
    rising = match["sign"] == "+" if match["sign"] else match["word"].startswith(("rise", "incr"))
    bad = "drop" if higher_is_better(metric) else "rise"
    if rising == higher_is_better(metric):
        sign = "-" if higher_is_better(metric) else "+"
        raise ConfigError(f"{source}: {text!r}: {metric} regresses when it {bad}s, write "
                          f"'{metric} {sign}{match['amount']}{match['unit'] or ''}'")
    amount = float(match["amount"])
    unit = (match["unit"] or "").rstrip("s") if match["unit"] not in ("s", "ms") else match["unit"]
    if unit in ("pt", "point"):
        if metric not in RATES:
            raise ConfigError(f"{source}: {text!r}: points apply to rates "
                              f"({', '.join(sorted(RATES))}); use % for {metric}")
        unit = "pt"
    elif unit in ("s", "ms"):
        if metric not in TIMES:
            raise ConfigError(f"{source}: {text!r}: seconds apply to latency and TTFT metrics")
        amount, unit = (amount / 1000 if unit == "ms" else amount), "abs"
    elif unit != "%":
        unit = "abs"
    if match["sig"] and metric != "accuracy" and metric not in SERVING_TIMES:
        raise ConfigError(f"{source}: {text!r}: 'significant' applies to accuracy and "
                          f"serving times ({', '.join(SERVING_TIMES)})")
    return RegressionGate(suite=match["suite"], metric=metric, amount=amount, unit=unit,
                          significant=bool(match["sig"]), text=text.strip())


def evaluate_regressions(gates: list[RegressionGate], rows: list[dict[str, Any]]) -> list[str]:
    """Every regression-gate violation over compare rows, one line each."""
    failures = []
    for gate in gates:
        for row in rows:
            if row.get("baseline_n") and (gate.suite is None or gate.suite == row["suite"]):
                reason = gate.check(row)
                if reason:
                    failures.append(reason)
    return failures
