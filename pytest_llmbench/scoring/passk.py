"""Many samples per case: unbiased pass@k and best-of-k speedup, pure functions.

pass@k is the Chen et al. (2021) estimator: with n samples of which c pass,
the chance that at least one of k drawn without replacement passes is
``1 - C(n-c, k) / C(n, k)``, computed as a stable product. speedup@k is the
expected best speedup among k of the n samples (order statistics; a failing
sample counts 0), opt@k the pass@k of "passed and at least ``min_speedup``
faster than the reference" (as in PIE's %OPT).
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from pytest_llmbench.scoring.base import Score, Scorer, as_score
from pytest_llmbench.suites.model import Case

DEFAULT_PASS_AT = (1, 5, 10)
SAMPLE_RESPONSE_LIMIT = 4_000


def pass_at_k(n: int, c: int, k: int) -> float:
    """Probability that at least one of k samples (of n, c correct) is correct."""
    if not 0 <= c <= n or not 1 <= k <= n:
        raise ValueError(f"pass@k needs 0 <= c <= n and 1 <= k <= n (n={n}, c={c}, k={k})")
    if n - c < k:
        return 1.0
    return 1.0 - math.prod(1.0 - k / i for i in range(n - c + 1, n + 1))


def expected_best_of_k(values: Sequence[float], k: int) -> float:
    """E[max of k values drawn without replacement]: the i-th smallest of n is the
    maximum in C(i-1, k-1) of the C(n, k) draws."""
    n = len(values)
    if not 1 <= k <= n:
        raise ValueError(f"best-of-k needs 1 <= k <= n (n={n}, k={k})")
    ordered = sorted(values)
    total = math.comb(n, k)
    return sum(math.comb(i - 1, k - 1) * v for i, v in enumerate(ordered, 1) if i >= k) / total


def ks_for(n: int, wanted: Sequence[int] | None) -> list[int]:
    """The k values reported for n samples: those asked for (default 1, 5, 10) that fit."""
    return sorted({k for k in (wanted or DEFAULT_PASS_AT) if 1 <= k <= n})


def score_samples(scorer: Scorer, texts: Sequence[str], case: Case) -> list[Score]:
    """Score each sample; side by side when the scorer says it is thread-safe (a
    sandbox run or a judge call spends its time waiting)."""
    if not getattr(scorer, "thread_safe", False) or len(texts) < 2:
        return [as_score(scorer(text, case)) for text in texts]
    workers = min(len(texts), max(2, os.cpu_count() or 2), 8)
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="llmbench-score") as pool:
        return [as_score(s) for s in pool.map(lambda text: scorer(text, case), texts)]


def speedup_details(passed: Sequence[bool], speedups: Sequence[float | None],
                    ks: Sequence[int], min_speedup: float = 1.1, always: bool = False
                    ) -> dict[str, Any]:
    """speedup_best, speedup@k and opt@k over n samples: a sample that failed or has no
    speedup counts 0 (and not optimised). Empty when no sample has a speedup, unless
    ``always`` (the caller knows every sample was timed or failed)."""
    if not always and all(v is None for v in speedups):
        return {}
    n = len(passed)
    values = [float(v) if ok and v is not None else 0.0
              for ok, v in zip(passed, speedups, strict=True)]
    fast = sum(1 for ok, v in zip(passed, values, strict=True) if ok and v >= min_speedup)
    return {"speedup_best": max(values),
            "speedup_at": {str(k): expected_best_of_k(values, k) for k in ks},
            "opt_at": {str(k): pass_at_k(n, fast, k) for k in ks},
            "min_speedup": min_speedup}


def aggregate(scores: Sequence[Score], responses: Sequence[str], pass_at: Sequence[int] | None,
              min_speedup: float = 1.1) -> Score:
    """One item's Score from its n sample scores.

    The value is pass@1 (the mean), so a suite's accuracy is its mean pass@1; the item
    passes when any sample passed. Details keep every sample's verdict and response.
    """
    n = len(scores)
    c = sum(1 for s in scores if s.passed)
    ks = ks_for(n, pass_at)
    details: dict[str, Any] = {
        "samples": n, "correct": c,
        "pass_at": {str(k): pass_at_k(n, c, k) for k in ks},
        "extraction_failed": all(s.extraction_failed for s in scores),
        "extraction_failures": sum(1 for s in scores if s.extraction_failed),
        "per_sample": [{"index": i, "passed": s.passed, "value": s.value,
                        "response": _clip(text), **s.details}
                       for i, (s, text) in enumerate(zip(scores, responses, strict=True))],
    }
    timed = any("speedup" in s.details for s in scores)  # a timed row: all-failed counts 0
    details.update(speedup_details([s.passed for s in scores],
                                   [s.details.get("speedup") for s in scores], ks, min_speedup,
                                   always=timed))
    costs = [s.cost_usd for s in scores if s.cost_usd is not None]
    return Score(c / n if n else 0.0, c > 0, details, cost_usd=sum(costs) if costs else None)


def _clip(text: str) -> str:
    return text if len(text) <= SAMPLE_RESPONSE_LIMIT else text[:SAMPLE_RESPONSE_LIMIT] + "…"
