"""Paired statistics and the regression-gate grammar (plain functions)."""

from __future__ import annotations

import math
import re

import pytest

from pytest_llmbench.errors import ConfigError
from pytest_llmbench.results.paired import bootstrap_mean_ci, mcnemar_exact, paired_compare
from pytest_llmbench.results.regression import parse_regression


def test_mcnemar_exact_matches_the_binomial_tail() -> None:
    assert mcnemar_exact(0, 0) == 1.0
    assert mcnemar_exact(1, 9) == pytest.approx(2 * (1 + 10) / 2**10)
    assert mcnemar_exact(9, 1) == mcnemar_exact(1, 9)
    assert mcnemar_exact(5, 5) == 1.0
    # large counts go through log space and agree with the exact sum near the switch
    exact = 2 * sum(math.comb(1000, i) for i in range(471)) / 2**1000
    assert mcnemar_exact(470, 530) == pytest.approx(exact, rel=1e-12)
    assert mcnemar_exact(480, 531) == pytest.approx(0.1157, abs=2e-3)


def test_bootstrap_is_seeded_and_covers_the_mean() -> None:
    diffs = [-1.0] * 30 + [0.0] * 60 + [1.0] * 10
    first, second = bootstrap_mean_ci(diffs, seed=7), bootstrap_mean_ci(diffs, seed=7)
    assert first == second
    assert first is not None and first[0] < -0.2 < first[1] < 0
    assert bootstrap_mean_ci([], seed=1) is None


def test_paired_compare_counts_flips() -> None:
    pairs = [(1.0, 0.0, True, False)] * 3 + [(0.0, 1.0, False, True)] + [(1.0, 1.0, True, True)] * 6
    result = paired_compare(pairs, seed=1)
    assert (result.n, result.pass_to_fail, result.fail_to_pass) == (10, 3, 1)
    assert result.accuracy_delta == pytest.approx(-0.2)
    assert result.p_value == pytest.approx(0.625)


@pytest.mark.parametrize(("text", "expected"), [
    ("accuracy -2pt", (None, "accuracy", 2.0, "pt", False)),
    ("gsm8k:accuracy drop > 2 points significant", ("gsm8k", "accuracy", 2.0, "pt", True)),
    ("latency_p95 +20%", (None, "latency_p95", 20.0, "%", False)),
    ("ttft_p50 rise > 150ms", (None, "ttft_p50", 0.15, "abs", False)),
    ("output_tps -10%", (None, "output_tps", 10.0, "%", False)),
    ("cost_usd +0.05", (None, "cost_usd", 0.05, "abs", False)),
])
def test_regression_grammar(text: str, expected: tuple[object, ...]) -> None:
    gate = parse_regression(text)
    assert (gate.suite, gate.metric, gate.amount, gate.unit, gate.significant) == expected


@pytest.mark.parametrize(("text", "message"), [
    ("accuracy +2pt", "accuracy regresses when it drops, write 'accuracy -2pt'"),
    ("latency_p95 -20%", "latency_p95 regresses when it rises, write 'latency_p95 +20%'"),
    ("latency_p95 +2pt", "points apply to rates"),
    ("accuracy -2s", "seconds apply to latency"),
    ("latency_p95 +1s significant", "'significant' applies to accuracy and serving times"),
    ("speed -2%", "unknown metric 'speed'"),
    ("accuracy", "cannot parse regression gate 'accuracy'"),
])
def test_regression_grammar_errors_name_the_option(text: str, message: str) -> None:
    with pytest.raises(ConfigError, match="^--llmbench-regression: .*" + re.escape(message)):
        parse_regression(text)


def test_regression_check() -> None:
    row = {"suite": "s", "model": "m", "target": None, "paired": {"mcnemar_p": 0.2},
           "metrics": {"accuracy": {"baseline": 0.9, "candidate": 0.85},
                       "latency_p95": {"baseline": 1.0, "candidate": 1.19}}}
    assert "worse by 5pt" in (parse_regression("accuracy -2pt").check(row) or "")
    assert parse_regression("accuracy -2pt significant").check(row) is None  # p = 0.2
    assert parse_regression("accuracy -5pt").check(row) is None
    assert parse_regression("latency_p95 +20%").check(row) is None
    assert "worse by 19%" in (parse_regression("latency_p95 +10%").check(row) or "")
