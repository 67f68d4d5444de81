"""benchmarks.json stats are pytest-benchmark's own: compared field by field with
pytest_benchmark.stats.Stats on many sample sets (odd and even counts, ties, outliers)."""

from __future__ import annotations

import random

import pytest
from pytest_benchmark.stats import Stats

from pytest_llmbench.serving.export import benchmark_stats


def _sets() -> list[list[float]]:
    rng = random.Random(15)
    sets: list[list[float]] = [[0.5], [0.1, 0.2], [0.3, 0.1, 0.2], [1.0] * 6,
                               [0.01, 0.02, 0.02, 0.03, 5.0]]
    for n in range(1, 41):
        for _ in range(3):
            values = [rng.lognormvariate(-3, 0.5) for _ in range(n)]
            if n > 4 and rng.random() < 0.5:
                values[rng.randrange(n)] *= 20  # an outlier
            if n > 3 and rng.random() < 0.3:
                values[1] = values[0]  # a tie
            sets.append(values)
    return sets


@pytest.mark.parametrize("values", _sets())
def test_stats_equal_pytest_benchmarks(values: list[float]) -> None:
    theirs = Stats()
    for value in values:
        theirs.update(value)
    ours = benchmark_stats(values)
    assert ours is not None
    assert {k: ours[k] for k in Stats.fields} == theirs.as_dict()
