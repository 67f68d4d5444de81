"""The shipped distributed examples cannot rot: the GitHub matrix workflow's commands run as its
jobs would (four shard jobs, then the merge job), and the Kubernetes manifest validates against
the Kubernetes schema offline (kubernetes-validate ships the schemas; no cluster runs here)."""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.conftest import ROWS, write_suite

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "distributed"
BIN = Path(sys.executable).parent


def _run_steps(job: dict, names: tuple[str, ...]) -> list[str]:
    return [s["run"] for s in job["steps"]
            if "run" in s and s["run"].startswith(".venv/bin/") and any(n in s["run"] for n in names)]


def test_github_matrix_workflow_runs_as_shipped(tmp_path: Path) -> None:
    workflow = yaml.safe_load((EXAMPLES / "github-matrix.yml").read_text())
    shard_job, merge_job = workflow["jobs"]["shard"], workflow["jobs"]["merge"]
    (tmp_path / "bench_suites").mkdir()
    write_suite(tmp_path / "bench_suites")
    env = {**os.environ, "GITHUB_RUN_ID": "123", "GITHUB_RUN_ATTEMPT": "1",
           "BENCHMARK_MODELS": "inproc:oracle,inproc:echo"}
    for name in ("LLMBENCH_RUN_ID", "SLURM_ARRAY_JOB_ID", "SLURM_ARRAY_TASK_ID", "LLMBENCH_SHARD"):
        env.pop(name, None)
    (command,) = _run_steps(shard_job, ("pytest",))
    count = len(shard_job["strategy"]["matrix"]["shard"])
    for shard in shard_job["strategy"]["matrix"]["shard"]:
        run = subprocess.run(shlex.split(command.replace(".venv/bin/", f"{BIN}/")), cwd=tmp_path,
                             env={**env, "LLMBENCH_SHARD": f"{shard}/{count}"},
                             capture_output=True, text=True, timeout=300)
        assert run.returncode == 0, run.stdout[-2000:]
    (merge,) = _run_steps(merge_job, ("merge",))
    merge = merge.replace("${GITHUB_RUN_ID}", "123").replace("${GITHUB_RUN_ATTEMPT}", "1")
    run = subprocess.run(shlex.split(merge.replace(".venv/bin/llmbench",
                                                   f"{sys.executable} -m pytest_llmbench.cli")),
                         cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    records = (tmp_path / ".llmbench/runs/gh-123-1/records.jsonl").read_text().splitlines()
    assert len(records) == 2 * len(ROWS)
    assert {json.loads(r)["run_id"] for r in records} == {"gh-123-1"}


def test_kubernetes_indexed_job_validates_against_the_schema() -> None:
    kubernetes_validate = pytest.importorskip("kubernetes_validate")
    manifest = yaml.safe_load((EXAMPLES / "k8s-indexed-job.yaml").read_text())
    kubernetes_validate.validate(manifest, "1.30.0", strict=True)
    spec = manifest["spec"]
    assert spec["completionMode"] == "Indexed"
    env = {e["name"]: e.get("value") for e in spec["template"]["spec"]["containers"][0]["env"]}
    assert env["LLMBENCH_SHARD_COUNT"] == str(spec["completions"])


def test_kubernetes_schema_check_catches_a_broken_manifest() -> None:
    kubernetes_validate = pytest.importorskip("kubernetes_validate")
    manifest = yaml.safe_load((EXAMPLES / "k8s-indexed-job.yaml").read_text())
    manifest["spec"]["completions"] = "four"
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(manifest, "1.30.0", strict=True)
