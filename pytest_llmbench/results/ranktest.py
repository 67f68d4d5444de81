"""Mann-Whitney U test: do two samples of latencies differ? (no SciPy needed).

Serving comparisons have thousands of raw per-request timings on each side,
rarely normal (long tails), so a rank test fits better than comparing means.
The p-value is the normal approximation with tie and continuity corrections
(SciPy's ``mannwhitneyu(method="asymptotic")``), sound from a few dozen samples
per side. Very large samples are thinned to ``cap`` values per side by a seeded
random draw, which keeps the test fast on 100k-request runs and changes nothing
that matters at that size.
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from typing import Any

CAP = 50_000


def mann_whitney(baseline: Sequence[float], candidate: Sequence[float], *, cap: int = CAP,
                 seed: int = 0) -> dict[str, Any] | None:
    """Two-sided test; ``candidate_greater`` is P(candidate > baseline) + P(tie)/2 (0.5:
    no shift; for latencies above 0.5 means the candidate is slower). None when a side
    is empty."""
    if not baseline or not candidate:
        return None
    rng = random.Random(seed)
    a = list(baseline) if len(baseline) <= cap else rng.sample(list(baseline), cap)
    b = list(candidate) if len(candidate) <= cap else rng.sample(list(candidate), cap)
    n1, n2 = len(a), len(b)
    pooled = sorted([(v, 0) for v in a] + [(v, 1) for v in b])
    rank_sum_b, ties, index = 0.0, 0.0, 0
    while index < len(pooled):
        end = index
        while end + 1 < len(pooled) and pooled[end + 1][0] == pooled[index][0]:
            end += 1
        size = end - index + 1
        rank = (index + end) / 2 + 1  # tied values share their mean rank
        rank_sum_b += rank * sum(1 for k in range(index, end + 1) if pooled[k][1])
        ties += size ** 3 - size
        index = end + 1
    u_b = rank_sum_b - n2 * (n2 + 1) / 2
    mean = n1 * n2 / 2
    n = n1 + n2
    variance = n1 * n2 / 12 * ((n + 1) - ties / (n * (n - 1))) if n > 1 else 0.0
    if variance <= 0:
        p_value = 1.0
    else:
        z = max(0.0, abs(u_b - mean) - 0.5) / math.sqrt(variance)
        p_value = min(1.0, math.erfc(z / math.sqrt(2)))
    return {"u": u_b, "p": p_value, "n_baseline": n1, "n_candidate": n2,
            "candidate_greater": u_b / (n1 * n2), "thinned": n1 < len(baseline)
            or n2 < len(candidate)}
