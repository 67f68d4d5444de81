"""Serving points of two targets in one run get speedups against the baseline target: in
the run's serving table and in ``llmbench compare RUN`` (point 20). The candidate engine
has a quarter of the baseline's TTFT, so its TTFT and end-to-end medians are faster and its
throughputs higher (absent figures: tests/serving/test_serving_speedup.py)."""

from __future__ import annotations

import json
import re

import pytest

from pytest_llmbench.cli import main
from tests.targets.conftest import PYTHON, run_dir, write_config

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


def _engine(ttft_ms: int) -> dict[str, object]:
    profile = f"perf:policy=lorem,ttft_ms={ttft_ms},itl_ms=2,output_tokens=max_tokens"
    return {"command": [PYTHON, "-m", "pytest_llmbench.sim", "--port", "{port}", "--model",
                        profile], "port": "auto"}


def test_serving_points_get_speedups_against_the_baseline_target(
        pytester: pytest.Pytester, capsys: pytest.CaptureFixture[str]) -> None:
    pytester.makefile(".yaml", load=SUITE)
    write_config(pytester.path, {"baseline": _engine(80), "candidate": _engine(20)})
    result = pytester.runpytest_subprocess(
        "load.yaml", "--llmbench-models", "sim:perf@baseline,sim:perf@candidate",
        "-p", "no:cacheprovider")
    assert result.ret == pytest.ExitCode.OK, result.stdout.str()[-3000:]
    text = result.stdout.str()
    line = next(x for x in text.splitlines() if x.startswith("sim:perf@candidate/c4")
                and " vs baseline: " in x)
    ttft = float(re.search(r"TTFT p50 ([0-9.]+)x", line)[1])  # type: ignore[index]
    tput = float(re.search(r"req/s ([0-9.]+)x", line)[1])  # type: ignore[index]
    assert ttft > 2 and tput > 1.3
    assert not any(x.startswith("sim:perf@baseline/c4") and " vs " in x
                   for x in text.splitlines())

    out = pytester.path / "compare.json"
    code = main(["compare", str(run_dir(pytester)), "--json", str(out)])
    printed = capsys.readouterr().out
    assert code == 0, printed
    (row,) = json.loads(out.read_text())["serving"]
    assert (row["point"], row["target"]) == ("c4", "candidate")
    speedups = row["speedups"]
    assert speedups["ttft_p50"] > 2 and speedups["e2e_p50"] > 1.3
    assert speedups["request_throughput"] > 1.3 and speedups["output_throughput"] > 1.3
    goodput = row["metrics"]["goodput"]
    assert speedups["goodput"] == pytest.approx(goodput["candidate"] / goodput["baseline"],
                                                rel=1e-3)
    assert speedups["ttft_p50"] == pytest.approx(
        row["metrics"]["ttft_p50"]["baseline"] / row["metrics"]["ttft_p50"]["candidate"],
        rel=1e-3)
    ttft_row = next(x for x in printed.splitlines() if x.strip().startswith("TTFT p50"))
    assert f"{speedups['ttft_p50']:.2f}x" in ttft_row
