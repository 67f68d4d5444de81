"""Variants in summaries, the terminal table, gates, report.html and run comparison."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import read_summary

ROOT = Path(__file__).resolve().parents[2]
ARGS = ("arith.yaml", "--llmbench-models", "inproc:echo", "--llmbench-score-only",
        "--llmbench-variants", "ask,answer_first,shots", "-p", "no:cacheprovider")


def _latest(pytester: pytest.Pytester) -> Path:
    return (pytester.path / ".llmbench" / "runs" / "latest").resolve()


def test_rows_per_variant_best_variant_and_paired_comparison(pytester: pytest.Pytester,
                                                             variant_dir) -> None:
    result = pytester.runpytest_subprocess(*ARGS, "-n", "2")
    result.stdout.fnmatch_lines([
        "suite  model        variant          n  pass*",
        "arith  inproc:echo  answer_first *  10    10*",
        "arith  inproc:echo  ask             10     0    10*",
        "*variants against the best variant (paired, same cases)*",
        "suite  model        variant  vs             n  *McNemar p",
        "arith  inproc:echo  ask      answer_first  10  -100.0% [[]-100.0%, -100.0%[]]    10     0"
        "    0.00195",
    ])
    rows = {r["variant"]: r for r in read_summary(pytester)}
    assert set(rows) == {"ask", "answer_first", "shots"}
    assert rows["answer_first"]["best_variant"] is True and rows["answer_first"]["accuracy"] == 1
    assert rows["ask"]["best_variant"] is False and rows["ask"]["accuracy"] == 0
    doc = json.loads((_latest(pytester) / "summary.json").read_text())
    shots = next(c for c in doc["variant_comparison"] if c["variant"] == "shots")
    assert shots == {"suite": "arith", "model": "inproc:echo", "target": None,
                     "baseline": "answer_first", "variant": "shots", "n": 10,
                     "pass_to_fail": 10, "fail_to_pass": 0, "accuracy_delta": -1.0,
                     "ci_low": -1.0, "ci_high": -1.0, "mcnemar_p": pytest.approx(0.001953125)}
    with (_latest(pytester) / "summary.csv").open() as handle:
        table = list(csv.DictReader(handle))
    assert {(r["variant"], r["best_variant"]) for r in table} == {
        ("answer_first", "True"), ("ask", "False"), ("shots", "False")}
    html = (_latest(pytester) / "report.html").read_text()
    assert '"variant": "answer_first"' in html or '"variant":"answer_first"' in html
    assert "variantLabel" in html


@pytest.mark.parametrize(("gate", "failing"), [
    ("arith:ask:accuracy>=0.5", ["arith/ask x inproc:echo: accuracy = 0, gate "
                                 "arith:ask:accuracy>=0.5"]),
    ("*:answer_first:accuracy>=0.5", []),
    ("arith:accuracy>=0.5", ["arith/ask x inproc:echo*", "arith/shots x inproc:echo*"]),
])
def test_gates_name_a_variant(pytester: pytest.Pytester, variant_dir, gate: str,
                              failing: list[str]) -> None:
    result = pytester.runpytest(*ARGS, "--llmbench-gate", gate)
    if failing:
        result.stdout.fnmatch_lines([f"FAIL gate {line}" for line in failing])
        assert result.ret == pytest.ExitCode.TESTS_FAILED
    else:
        result.stdout.fnmatch_lines(["all llmbench gates passed"])
        assert result.ret == pytest.ExitCode.OK


def test_suite_file_gate_may_name_its_variant(pytester: pytest.Pytester) -> None:
    from tests.variants.conftest import VARIANTS, write_variant_suite

    write_variant_suite(pytester.path, VARIANTS + "gates: ['answer_first:accuracy>=1.0']\n")
    result = pytester.runpytest(*ARGS)
    result.stdout.fnmatch_lines(["all llmbench gates passed"])


def test_run_comparison_pairs_variants_like_models(pytester: pytest.Pytester,
                                                   variant_dir) -> None:
    pytester.runpytest(*ARGS, "--llmbench-run-id", "base")
    pytester.runpytest(*ARGS, "--llmbench-run-id", "cand")
    proc = subprocess.run([sys.executable, "-m", "pytest_llmbench.cli", "compare", "base", "cand",
                           "--output", str(pytester.path / ".llmbench" / "runs")],
                          capture_output=True, text=True, cwd=pytester.path, check=False)
    assert proc.returncode == 0, proc.stderr
    for variant in ("ask", "answer_first", "shots"):
        assert f"arith x inproc:echo/{variant}" in proc.stdout


def test_bundled_variant_suite_runs_against_the_simulator(tmp_path: Path) -> None:
    out = tmp_path / "runs"
    proc = subprocess.run([sys.executable, "-m", "pytest",
                           str(ROOT / "bench_suites" / "arithmetic_variants.yaml"), "-q",
                           "-p", "no:cacheprovider", "--llmbench-output", str(out),
                           "--llmbench-models", "sim:default,sim:fast", "--llmbench-score-only",
                           "--rootdir", str(ROOT)],
                          capture_output=True, text=True, cwd=ROOT, timeout=300, check=False)
    assert proc.returncode == 0, proc.stdout[-3000:]
    rows = json.loads((out / "latest" / "summary.json").read_text())["rows"]
    assert {(r["model"], r["variant"]) for r in rows} == {
        (m, v) for m in ("sim:default", "sim:fast")
        for v in ("terse", "careful", "few_shot", "bootstrap")}
    assert all(r["n"] == 10 for r in rows)
    assert {r["model"] for r in rows if r["best_variant"]} == {"sim:default", "sim:fast"}
    fitted = sorted((out / "latest" / "variants" / "arithmetic_variants" / "bootstrap").glob(
        "*.json"))
    assert [p.name for p in fitted] == ["sim:default.json", "sim:fast.json"]
    assert all(json.loads(p.read_text())["prompt"]["few_shot"] for p in fitted)
    assert "fitted prompt arithmetic_variants/bootstrap x sim:fast" in proc.stdout
