"""``llmbench compare`` on runs with known differences: deltas, paired statistics,
speedups between targets and commits, regression gates and the exit status."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from pytest_llmbench.errors import ConfigError
from pytest_llmbench.report.compare import compare, load_side, previous_run
from tests.report.runs import cases, make_run


def llmbench(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "pytest_llmbench.cli", *args], cwd=cwd,
                          capture_output=True, text=True, timeout=60, check=False)


def test_known_differences(tmp_path: Path) -> None:
    make_run(tmp_path, "base", cases(200, set(range(20))), latency=2.0, tps=40.0, commit="a" * 40)
    make_run(tmp_path, "cand", cases(200, set(range(5, 45))), latency=1.0, tps=80.0, commit="b" * 40)
    doc = compare([load_side(tmp_path, "base"), load_side(tmp_path, "cand")])
    (row,) = doc["rows"]
    accuracy = row["metrics"]["accuracy"]
    assert (accuracy["baseline"], accuracy["candidate"]) == (0.9, 0.8)
    assert accuracy["change"] == "worse" and accuracy["better"] == "higher"
    # cases 0-4 flip fail->pass, 20-44 pass->fail
    assert (row["paired"]["pass_to_fail"], row["paired"]["fail_to_pass"]) == (25, 5)
    assert row["paired"]["mcnemar_p"] < 0.001 and row["significant"]
    assert row["paired"]["ci_low"] < -0.1 < row["paired"]["ci_high"] < 0
    assert row["regressions"] == ["accuracy", "cost_per_correct"]
    assert row["metrics"]["latency_p50"]["change"] == "better"
    assert (row["speedup"], row["throughput_ratio"]) == (2.0, 2.0)
    assert doc["baseline"]["label"] == "base (aaaaaaaa)"
    again = compare([load_side(tmp_path, "base"), load_side(tmp_path, "cand")])
    assert again["rows"] == doc["rows"]  # the bootstrap is seeded


def test_targets_side_by_side_against_a_named_baseline(tmp_path: Path) -> None:
    run = "engines"
    make_run(tmp_path, run, cases(50), latency=3.0, tps=30.0, target="vllm-main")
    make_run(tmp_path, run, cases(50), latency=2.0, tps=45.0, target="vllm-pr1")
    make_run(tmp_path, run, cases(50, {1}), latency=1.5, tps=60.0, target="vllm-pr2")
    doc = compare([load_side(tmp_path, f"{run}@vllm-main"), load_side(tmp_path, f"{run}@vllm-pr1"),
                   load_side(tmp_path, f"{run}@vllm-pr2")])
    assert [(r["target"], r["speedup"], r["throughput_ratio"]) for r in doc["rows"]] == [
        ("vllm-pr1", 1.5, 1.5), ("vllm-pr2", 2.0, 2.0)]
    assert doc["rows"][1]["paired"]["pass_to_fail"] == 1
    # without @TARGET the targets are separate rows of one run
    whole = compare([load_side(tmp_path, run), load_side(tmp_path, run)])
    assert [r["target"] for r in whole["rows"]] == ["vllm-main", "vllm-pr1", "vllm-pr2"]
    with pytest.raises(ConfigError, match="no records with target 'nope'"):
        load_side(tmp_path, f"{run}@nope")


def test_previous_run_is_the_newest_before_the_current(tmp_path: Path) -> None:
    make_run(tmp_path, "zz-old", cases(3), started_at=100.0)
    make_run(tmp_path, "aa-newer", cases(3), started_at=200.0)
    make_run(tmp_path, "current", cases(3), started_at=300.0)
    assert previous_run(tmp_path, "current") == tmp_path / "aa-newer"
    assert previous_run(tmp_path / "missing", "current") is None


def test_cli_compare_table_json_and_gates(tmp_path: Path) -> None:
    runs = tmp_path / ".llmbench" / "runs"
    make_run(runs, "base", cases(100, set(range(10))), latency=1.0)
    make_run(runs, "cand", cases(100, set(range(30))), latency=1.3)
    ok = llmbench("compare", "base", "cand", "--gate", "latency_p95 +50%", "--json", "out.json",
                  cwd=tmp_path)
    assert ok.returncode == 0, ok.stderr
    assert "90.0% -> 70.0% (-20.0pt)!" in ok.stdout
    assert "all regression gates passed" in ok.stdout
    assert json.loads((tmp_path / "out.json").read_text())["rows"][0]["paired"]["pass_to_fail"] == 20
    bad = llmbench("compare", "base", str(runs / "cand"), "--gate", "accuracy drop > 2 points",
                   "--gate", "latency_p95 +20%", cwd=tmp_path)
    assert bad.returncode == 1
    assert "FAIL regression s x m: accuracy 0.9 -> 0.7 (worse by 20pt" in bad.stdout
    assert "FAIL regression s x m: latency_p95 1 -> 1.3 (worse by 30%)" in bad.stdout


def test_cli_compare_bad_input_names_the_option(tmp_path: Path) -> None:
    make_run(tmp_path / ".llmbench" / "runs", "base", cases(3))
    bad_gate = llmbench("compare", "base", "base", "--gate", "accuracy +2pt", cwd=tmp_path)
    assert bad_gate.returncode == 2
    assert bad_gate.stderr.strip() == ("llmbench compare: error: --gate: 'accuracy +2pt': accuracy "
                                       "regresses when it drops, write 'accuracy -2pt'")
    missing = llmbench("compare", "base", "nope", cwd=tmp_path)
    assert missing.returncode == 2 and "no run 'nope' under" in missing.stderr
