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
    lines = result.stdout.str().splitlines()
    table = lines[next(i for i, x in enumerate(lines) if x.startswith("speedup against")) + 1:]
    header = re.split(r"\s{2,}", table[0].strip())
    (row,) = [re.split(r"\s{2,}", x.strip()) for x in table[1:3] if x.startswith("sim:perf@")]
    assert row[:2] == ["sim:perf@candidate/c4", "baseline"]
    assert float(row[header.index("TTFT p50")].rstrip("x")) > 2
    assert float(row[header.index("req/s")].rstrip("x")) > 1.3
    assert all(len(x) <= 100 for x in table[:3]) and len(lines[lines.index(table[0]) - 1]) <= 100

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
