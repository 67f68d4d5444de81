"""pass@k, best-of-k speedup and the per-item aggregate, against hand-computed values."""

from __future__ import annotations

import math

import pytest

from pytest_llmbench.scoring.base import Score
from pytest_llmbench.scoring.passk import aggregate, expected_best_of_k, ks_for, pass_at_k


@pytest.mark.parametrize(("n", "c", "k", "expected"), [
    (10, 0, 1, 0.0),
    (10, 10, 10, 1.0),
    (10, 3, 1, 0.3),                       # pass@1 is c/n
    (10, 3, 5, 1 - 21 / 252),              # 1 - C(7,5)/C(10,5) = 231/252
    (10, 3, 10, 1.0),                      # n - c < k
    (5, 2, 2, 1 - 3 / 10),                 # 1 - C(3,2)/C(5,2) = 0.7
    (20, 1, 10, 0.5),                      # one right answer in half the draws
    (200, 10, 100, 1 - math.comb(190, 100) / math.comb(200, 100)),
])
def test_pass_at_k_matches_the_binomial_formula(n: int, c: int, k: int, expected: float) -> None:
    assert pass_at_k(n, c, k) == pytest.approx(expected, rel=1e-12, abs=1e-12)


def test_pass_at_k_rejects_impossible_counts() -> None:
    with pytest.raises(ValueError, match="1 <= k <= n"):
        pass_at_k(5, 2, 6)
    with pytest.raises(ValueError):
        pass_at_k(5, 6, 1)


def test_expected_best_of_k() -> None:
    values = [0.0, 1.0, 2.0, 4.0]
    assert expected_best_of_k(values, 1) == pytest.approx(7 / 4)  # the mean
    # pairs: max over the 6 pairs = 1, 2, 4, 2, 4, 4 -> 17/6
    assert expected_best_of_k(values, 2) == pytest.approx(17 / 6)
    assert expected_best_of_k(values, 4) == 4.0


def test_ks_for_keeps_only_k_that_fit() -> None:
    assert ks_for(10, None) == [1, 5, 10]
    assert ks_for(4, None) == [1]
    assert ks_for(20, [1, 20, 5, 50]) == [1, 5, 20]


def test_aggregate_of_samples() -> None:
    scores = [Score(1.0, True, {"speedup": 2.0}), Score(0.0, False, {"speedup": None}),
              Score(1.0, True, {"speedup": 1.0}), Score(0.0, False, {"extraction_failed": True})]
    item = aggregate(scores, ["a", "b", "c", "d"], pass_at=[1, 2, 4], min_speedup=1.5)
    assert item.value == 0.5 and item.passed
    details = item.details
    assert details["correct"] == 2 and details["samples"] == 4
    assert details["pass_at"] == pytest.approx({"1": 0.5, "2": 5 / 6, "4": 1.0})
    assert details["extraction_failures"] == 1 and not details["extraction_failed"]
    assert details["speedup_best"] == 2.0
    # speedups [2, 0, 1, 0]: best of 2 over the 6 pairs = 2,2,2,1,1,0 -> 8/6
    assert details["speedup_at"]["2"] == pytest.approx(8 / 6)
    assert details["opt_at"]["1"] == pytest.approx(0.25)  # only the 2x sample is >= 1.5x
    assert [s["response"] for s in details["per_sample"]] == ["a", "b", "c", "d"]


def test_aggregate_all_wrong_fails_the_item() -> None:
    item = aggregate([Score(0.0, False)] * 3, ["x"] * 3, pass_at=None)
    assert not item.passed and item.value == 0.0 and item.details["pass_at"] == {"1": 0.0}
