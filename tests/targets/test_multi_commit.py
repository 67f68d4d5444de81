"""A multi-commit run: two commits x (baseline, candidate) templates, each candidate compared
with its own commit's baseline in the summary and in ``llmbench compare RUN`` (point 20).

Commit aaa111's candidate is 4x faster than its baseline; commit bbb222's candidate is 4x
slower than its own baseline, which is itself the fastest server of the run: against a
single baseline for the whole run both candidates would look alike."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from pytest_llmbench.cli import main
from tests.conftest import read_summary, write_suite
from tests.targets.conftest import PYTHON, run_dir, run_info, write_config

ROWS = [{"id": f"q{i:03d}", "question": f"{i} + {i}", "answer": str(2 * i)} for i in range(1, 7)]
TTFT_MS = {("aaa111", "baseline"): 120, ("aaa111", "candidate"): 30,
           ("bbb222", "baseline"): 15, ("bbb222", "candidate"): 120}
ENGINE = ("import runpy, sys\n"
          "port, commit, role = sys.argv[1:4]\n"
          f"ttft = {TTFT_MS!r}[(commit, role)]\n"
          "sys.argv = ['sim', '--port', port, '--model', f'default:ttft_ms={ttft},itl_ms=1']\n"
          "runpy.run_module('pytest_llmbench.sim', run_name='__main__')\n")
"""A stand-in engine build: the simulator, as fast as the commit and role make it."""


def _engine(role: str) -> dict[str, object]:
    return {"command": [PYTHON, "-c", ENGINE, "{port}", "{commit}", role], "port": "auto"}


def test_each_commit_compared_with_its_own_baseline(pytester: pytest.Pytester) -> None:
    write_suite(pytester.path, rows=ROWS)
    write_config(pytester.path, {"baseline": _engine("baseline"),
                                 "candidate": _engine("candidate")})
    result = pytester.runpytest_subprocess(
        "arith.yaml", "--llmbench-models", "sim:default@baseline,sim:default@candidate",
        "--llmbench-commits", "aaa111,bbb222")
    assert result.ret == pytest.ExitCode.OK, result.stdout.str()[-3000:]
    info = run_info(pytester)
    assert info["baselines"] == {
        "baseline-aaa111": "baseline-aaa111", "candidate-aaa111": "baseline-aaa111",
        "baseline-bbb222": "baseline-bbb222", "candidate-bbb222": "baseline-bbb222"}
    rows = {r["target"]: r for r in read_summary(pytester)}
    assert rows["candidate-aaa111"]["commit"] == "aaa111"
    assert rows["baseline-aaa111"]["speedup"] == rows["baseline-bbb222"]["speedup"] == 1.0
    assert rows["candidate-aaa111"]["speedup"] > 1.8  # 30 ms against its own 120 ms
    assert rows["candidate-aaa111"]["ttft_speedup"] > 2
    assert rows["candidate-bbb222"]["speedup"] < 0.6  # 120 ms against its own 15 ms
    assert rows["candidate-bbb222"]["ttft_speedup"] < 0.5

    out = pytester.path / "compare.json"
    compared = subprocess.run(
        [sys.executable, "-m", "pytest_llmbench.cli", "compare", str(run_dir(pytester)),
         "-o", str(out)], capture_output=True, text=True, cwd=pytester.path, timeout=120)
    assert compared.returncode == 0, compared.stderr
    assert "candidate: " in compared.stdout and "(baseline " in compared.stdout
    doc = json.loads(out.read_text())
    by_target = {row["target"]: row for row in doc["rows"]}
    assert sorted(by_target) == ["candidate-aaa111", "candidate-bbb222"]
    for commit in ("aaa111", "bbb222"):
        row = by_target[f"candidate-{commit}"]
        assert f"@baseline-{commit}" in row["baseline"]
        assert row["paired"]["n"] == len(ROWS)
    assert by_target["candidate-aaa111"]["speedup"] > 1.8
    assert by_target["candidate-bbb222"]["speedup"] < 0.6


def test_one_run_without_targets_is_refused_in_one_line(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run = tmp_path / "r1"
    run.mkdir()
    (run / "run.json").write_text(json.dumps({"run_id": "r1"}))
    (run / "records.jsonl").write_text(json.dumps(
        {"suite": "s", "case_id": "q1", "model": "sim:default", "outcome": "passed"}) + "\n")
    assert main(["compare", str(run)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "no target with a baseline" in err
