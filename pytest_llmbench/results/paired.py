"""Paired statistics for two runs over the same cases: McNemar's exact test and a
paired bootstrap interval of the accuracy delta.

Pairing removes the case-difficulty variance that two independent accuracy
intervals carry, so a real 2-point change is detectable on a few hundred cases.
Pure Python (``math`` and a seeded ``random.Random``) so results are identical
on every machine and need no scientific stack.
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from dataclasses import dataclass

BOOTSTRAP_RESAMPLES = 2000
# Resamples shrink for very large runs so the bootstrap stays within a few seconds.
_MAX_DRAWS = 20_000_000
_MIN_RESAMPLES = 200


def mcnemar_exact(b: int, c: int) -> float:
    """Two-sided exact McNemar p-value for ``b`` pass->fail and ``c`` fail->pass flips.

    Under the null each discordant pair flips either way with probability 1/2, so
    the p-value is a two-sided binomial tail: ``min(1, 2 * P(X <= min(b, c)))``.
    """
    n = b + c
    if n == 0:
        return 1.0
    k = min(b, c)
    if n <= 1000:
        tail = sum(math.comb(n, i) for i in range(k + 1)) / 2**n
    else:  # log space: big binomial coefficients would overflow a float
        logs = [math.lgamma(n + 1) - math.lgamma(i + 1) - math.lgamma(n - i + 1) - n * math.log(2)
                for i in range(k + 1)]
        top = max(logs)
        tail = math.exp(top) * sum(math.exp(v - top) for v in logs)
    return min(1.0, 2 * float(tail))


def bootstrap_mean_ci(diffs: Sequence[float], seed: int, resamples: int = BOOTSTRAP_RESAMPLES,
                      level: float = 0.95) -> tuple[float, float] | None:
    """Percentile bootstrap interval of the mean of paired differences (seeded)."""
    n = len(diffs)
    if n == 0:
        return None
    resamples = max(_MIN_RESAMPLES, min(resamples, _MAX_DRAWS // n))
    rng = random.Random(seed)
    values = list(diffs)
    means = sorted(sum(rng.choices(values, k=n)) / n for _ in range(resamples))
    alpha = (1 - level) / 2
    low = means[int(math.floor(alpha * (resamples - 1)))]
    high = means[int(math.ceil((1 - alpha) * (resamples - 1)))]
    return low, high


@dataclass(frozen=True)
class PairedResult:
    """Candidate minus baseline over the cases both runs scored."""

    n: int
    pass_to_fail: int
    fail_to_pass: int
    accuracy_delta: float | None
    ci_low: float | None
    ci_high: float | None
    p_value: float

    def to_dict(self) -> dict[str, float | int | None]:
        return {"n": self.n, "pass_to_fail": self.pass_to_fail, "fail_to_pass": self.fail_to_pass,
                "accuracy_delta": self.accuracy_delta, "ci_low": self.ci_low,
                "ci_high": self.ci_high, "mcnemar_p": self.p_value}


def paired_compare(pairs: Sequence[tuple[float, float, bool, bool]], seed: int) -> PairedResult:
    """``pairs``: (baseline score, candidate score, baseline passed, candidate passed)."""
    b = sum(1 for _, _, base, cand in pairs if base and not cand)
    c = sum(1 for _, _, base, cand in pairs if cand and not base)
    diffs = [cand - base for base, cand, _, _ in pairs]
    ci = bootstrap_mean_ci(diffs, seed)
    return PairedResult(
        n=len(pairs), pass_to_fail=b, fail_to_pass=c,
        accuracy_delta=sum(diffs) / len(diffs) if diffs else None,
        ci_low=ci[0] if ci else None, ci_high=ci[1] if ci else None,
        p_value=mcnemar_exact(b, c))
