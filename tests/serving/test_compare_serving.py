"""Serving points in ``llmbench compare`` and ``--llmbench-baseline``: two real runs against a
fast and a slow simulator, figures old -> new, a rank test on the raw samples, gates."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from pytest_llmbench.cli import main
from pytest_llmbench.results.ranktest import mann_whitney
from tests.serving.conftest import running_sim

SUITE = """\
kind: serving
name: chat_load
max_tokens: 8
ignore_eos: true
requests: 24
harness: {max_loop_lag_ms: 1000, max_cpu: 4}
scenarios:
  - concurrency: [4]
"""
@pytest.fixture(scope="module")
def slow_sim() -> Iterator[object]:
    yield from running_sim(80)


def _run(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, url: str, run_id: str,
         *extra: str) -> pytest.RunResult:
    monkeypatch.setenv("LLMBENCH_SIM_URL", url)
    return pytester.runpytest_subprocess("load.yaml", "--llmbench-models", "sim:perf",
                                         "--llmbench-run-id", run_id, "-p", "no:cacheprovider",
                                         *extra)


def test_compare_shows_serving_figures_test_and_gates(
        pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, sim_env: str,
        slow_sim: object, capsys: pytest.CaptureFixture[str]) -> None:
    pytester.makefile(".yaml", load=SUITE)
    _run(pytester, monkeypatch, sim_env, "fast").assert_outcomes(passed=1)
    _run(pytester, monkeypatch, slow_sim.base_url, "slow").assert_outcomes(passed=1)  # type: ignore[attr-defined]
    runs = pytester.path / ".llmbench" / "runs"
    out = pytester.path / "compare.json"
    code = main(["compare", "fast", "slow", "--output", str(runs), "--json", str(out),
                 "--gate", "ttft_p50 +50% significant", "--gate", "itl_p99 +500%"])
    text = capsys.readouterr().out
    assert code == 1  # the TTFT gate fails; ITL (2 ms on both) does not
    assert "serving chat_load x sim:perf/c4: n 24 -> 24, SLOs passed -> passed" in text
    ttft_line = next(line for line in text.splitlines() if line.strip().startswith("TTFT p50"))
    assert "!" in ttft_line and "*" in ttft_line  # flagged and significant
    assert ("FAIL regression chat_load x sim:perf/c4: ttft_p50" in text
            and "Mann-Whitney p=" in text)
    assert "itl_p99" not in text.split("FAIL regression", 1)[1]

    doc = json.loads(out.read_text())
    (row,) = doc["serving"]
    assert row["point"] == "c4" and row["baseline_n"] == row["candidate_n"] == 24
    ttft = row["metrics"]["ttft_p50"]
    assert ttft["baseline"] == pytest.approx(0.020, abs=0.015)
    assert ttft["candidate"] == pytest.approx(0.080, abs=0.03)
    assert ttft["ratio"] > 2 and ttft["flagged"] and "ttft_p50" in row["regressions"]
    test = row["mann_whitney"]["ttft"]
    assert test["p"] < 1e-6 and test["candidate_greater"] == 1.0
    assert test["n_baseline"] == test["n_candidate"] == 24
    assert row["metrics"]["request_throughput"]["change"] == "worse"
    assert row["throughput_ratio"] < 1
    assert len(doc["gate_failures"]) == 1


def test_baseline_option_compares_serving_points(
        pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, sim_env: str,
        slow_sim: object) -> None:
    pytester.makefile(".yaml", load=SUITE)
    _run(pytester, monkeypatch, slow_sim.base_url, "slow").assert_outcomes(passed=1)  # type: ignore[attr-defined]
    result = _run(pytester, monkeypatch, sim_env, "fast", "--llmbench-baseline", "latest",
                  "--llmbench-regression", "e2e_p99 +10%")
    result.stdout.fnmatch_lines(["*llmbench compare*", "serving chat_load x sim:perf/c4*",
                                 "  TTFT p50 *", "all regression gates passed"])
    assert result.ret == 0  # faster: the gate holds
    doc = json.loads((Path(pytester.path) / ".llmbench" / "runs" / "fast" / "compare.json")
                     .read_text())
    assert doc["serving"][0]["metrics"]["ttft_p50"]["change"] == "better"


def test_mann_whitney_matches_the_textbook() -> None:
    # SciPy: mannwhitneyu([1, 2, 3], [4, 5, 6], method="asymptotic").pvalue == 0.0808556
    result = mann_whitney([1, 2, 3], [4, 5, 6])
    assert result is not None
    assert result["p"] == pytest.approx(0.0808556, rel=1e-5) and result["u"] == 9
    same = mann_whitney([1.0] * 5, [1.0] * 5)
    assert same is not None and same["p"] == 1.0 and same["candidate_greater"] == 0.5
    thinned = mann_whitney(list(range(300)), list(range(300)), cap=100)
    assert thinned is not None and thinned["thinned"] and thinned["n_baseline"] == 100
    assert mann_whitney([], [1.0]) is None
