"""``llmbench compare RUN@A RUN@B`` pairs the items of two targets of one run (point 20)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.conftest import write_suite
from tests.targets.conftest import run_dir, sim_command, write_config

ROWS = [{"id": f"q{i:03d}", "question": f"{i} + {i}", "answer": str(2 * i)} for i in range(1, 7)]


def test_compare_two_targets_of_a_real_run(pytester: pytest.Pytester) -> None:
    write_suite(pytester.path, rows=ROWS)
    write_config(pytester.path, {
        "baseline": {"command": sim_command("default:ttft_ms=60,itl_ms=2"), "port": "auto"},
        "agent": {"command": sim_command("default:ttft_ms=5,itl_ms=1"), "port": "auto"},
    })
    result = pytester.runpytest_subprocess(
        "arith.yaml", "--llmbench-models", "sim:default@baseline,sim:default@agent")
    assert result.ret == pytest.ExitCode.OK, result.stdout.str()[-2000:]
    run = run_dir(pytester)
    out = pytester.path / "compare.json"
    compared = subprocess.run(
        [sys.executable, "-m", "pytest_llmbench.cli", "compare", f"{run}@baseline",
         f"{run}@agent", "-o", str(out)], capture_output=True, text=True, cwd=pytester.path,
        timeout=120)
    assert compared.returncode == 0, compared.stderr
    row = json.loads(out.read_text())["rows"][0]
    assert (row["model"], row["target"]) == ("sim:default", "agent")
    assert row["paired"]["n"] == 6  # every item paired with the other target's
    assert row["speedup"] > 1.5  # ttft 5 ms against 60 ms
