"""The shipped Slurm example on a real one-node Slurm cluster: the bundled suites as a job
array of four shards, merged into one run with the items and outcomes of the run unsharded."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from tests.distributed.slurm_cluster import SlurmCluster

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "distributed" / "slurm_array.sbatch"


def _verdicts(run: Path) -> dict[str, tuple[str, Any]]:
    lines = (run / "records.jsonl").read_text().splitlines()
    return {r["nodeid"]: (r["outcome"], r["score"]) for r in map(json.loads, lines)}


def test_bundled_suites_as_a_slurm_array_merge_into_the_unsharded_run(
        slurm: SlurmCluster, tmp_path: Path) -> None:
    out = tmp_path / "runs"
    args = f"--llmbench-output {out} -q"
    env = {**os.environ, "LLMBENCH_PYTEST": str(Path(sys.executable).parent / "pytest"),
           "LLMBENCH_ARGS": args}
    submitted = subprocess.run(
        ["sbatch", "--parsable", "--wait", f"--output={tmp_path}/task-%a.out", str(EXAMPLE)],
        cwd=ROOT, env={**env, "SLURM_CONF": slurm.env["SLURM_CONF"]},
        capture_output=True, text=True, timeout=900)
    logs = "\n".join(p.read_text()[-2000:] for p in sorted(tmp_path.glob("task-*.out")))
    assert submitted.returncode == 0, submitted.stderr + logs + slurm.logs()
    job = submitted.stdout.strip().split(";")[0]
    shards = sorted(out.glob(f"slurm-{job}.shard-*-of-4"))
    assert len(shards) == 4, (list(out.iterdir()), logs)
    merged = subprocess.run([sys.executable, "-m", "pytest_llmbench.cli", "merge",
                             f"slurm-{job}", "--output", str(out)],
                            capture_output=True, text=True, cwd=ROOT)
    assert merged.returncode == 0, merged.stderr

    whole = subprocess.run([str(Path(sys.executable).parent / "pytest"), "bench_suites",
                            "-p", "no:cacheprovider", "--llmbench-run-id", "whole", *args.split()],
                           cwd=ROOT, capture_output=True, text=True, timeout=900)
    assert whole.returncode == 0, whole.stdout[-3000:]
    assert _verdicts(out / f"slurm-{job}") == _verdicts(out / "whole")
    info = json.loads((out / f"slurm-{job}" / "run.json").read_text())
    assert info["run_id"] == f"slurm-{job}" and info["merge_problems"] == []
