"""Sharding overhead (a script, not a test).

1. ``llmbench merge`` of N synthetic records (default 100,000) cut into 8 shard directories,
   against a plain concatenation of the same records.jsonl files (read and write the bytes);
   the merge also writes records.csv, summary and report.html, as a run does. Median of
   ``--repeat``, runs alternating.
2. With ``--slurm`` (root, Slurm and munge installed): the bundled suites as 4 Slurm array
   tasks (``examples/distributed/slurm_array.sbatch`` on a one-node cluster) against the same
   command in one process: wall time and CPU time (user + system of the pytest processes).

    .venv/bin/python tests/perf/shard_overhead.py
    .venv/bin/python tests/perf/shard_overhead.py -n 20000 --repeat 1 --slurm
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from pytest_llmbench.report.merge import merge_runs  # noqa: E402
from pytest_llmbench.results.record import Record  # noqa: E402

SHARDS = 8


def make_shards(base: Path, count: int) -> list[Path]:
    rng = random.Random(7)
    paths = []
    lines: list[list[str]] = [[] for _ in range(SHARDS)]
    for i in range(count):
        model, suite = f"m{i % 4}", f"s{i % 5}"
        record = Record(run_id="big", nodeid=f"{suite}.yaml::{suite}[{model}/c{i}]", suite=suite,
                        case_id=f"c{i}", model=model, outcome=rng.choice(["passed", "failed"]),
                        score=1.0, prompt="What is " + "x" * 200, response="y" * 150,
                        latency_s=rng.random(), ttft_s=rng.random() / 10, output_tokens=40,
                        input_tokens=60, output_tps=400.0).to_dict()
        lines[i % SHARDS].append(json.dumps(record))
    for index in range(SHARDS):
        path = base / f"big.shard-{index}-of-{SHARDS}"
        path.mkdir(parents=True)
        shard = {"index": index, "count": SHARDS, "source": "--llmbench-shard"}
        (path / "run.json").write_text(json.dumps({"run_id": "big", "status": "completed",
                                                   "shard": shard}))
        nodeids = [json.loads(line)["nodeid"] for line in lines[index]]
        (path / "shard.json").write_text(json.dumps({**shard, "items": nodeids}))
        (path / "records.jsonl").write_text("\n".join(lines[index]) + "\n")
        paths.append(path)
    return paths


def concat(paths: list[Path], out: Path) -> None:
    with out.open("wb") as handle:
        for path in paths:
            handle.write((path / "records.jsonl").read_bytes())


def bench_merge(count: int, repeat: int) -> None:
    base = Path(tempfile.mkdtemp(prefix="llmbench-shardperf-"))
    try:
        paths = make_shards(base, count)
        merged, plain = [], []
        for attempt in range(repeat):
            started = time.perf_counter()
            concat(paths, base / f"cat-{attempt}.jsonl")
            plain.append(time.perf_counter() - started)
            started = time.perf_counter()
            merge_runs(paths, base / f"merged-{attempt}")
            merged.append(time.perf_counter() - started)
        m, p = statistics.median(merged), statistics.median(plain)
        print(f"merge {count:,} records in {SHARDS} shards: {m:.2f} s "
              f"(records + csv + summary + report.html); plain concatenation {p:.3f} s; "
              f"ratio {m / p:.0f}x")
    finally:
        shutil.rmtree(base, ignore_errors=True)


CPU_WRAPPER = """\
import resource, subprocess, sys
code = subprocess.call(sys.argv[2:])
r = resource.getrusage(resource.RUSAGE_CHILDREN)
open(sys.argv[1], "a").write(f"{r.ru_utime + r.ru_stime}\\n")
sys.exit(code)
"""


def bench_slurm() -> None:
    from tests.distributed.slurm_cluster import SlurmCluster, available

    reason = available()
    if reason:
        print(f"slurm: skipped ({reason})")
        return
    work = Path(tempfile.mkdtemp(prefix="llmbench-shardperf-"))
    work.chmod(0o755)
    cluster = SlurmCluster().start()
    try:
        wrapper = work / "cpu.py"
        wrapper.write_text(CPU_WRAPPER)
        launcher = work / "pytest.sh"
        cpu_file = work / "cpu.txt"
        pytest_bin = Path(sys.executable).parent / "pytest"
        launcher.write_text(f'#!/bin/sh\nexec {sys.executable} {wrapper} {cpu_file} {pytest_bin} "$@"\n')
        launcher.chmod(0o755)
        env = {**os.environ, "LLMBENCH_PYTEST": str(launcher), "SLURM_CONF": cluster.env["SLURM_CONF"],
               "LLMBENCH_ARGS": f"--llmbench-output {work / 'runs'} -q"}
        started = time.perf_counter()
        done = subprocess.run(["sbatch", "--parsable", "--wait", f"--output={work}/t-%a.out",
                               str(ROOT / "examples/distributed/slurm_array.sbatch")],
                              cwd=ROOT, env=env, capture_output=True, text=True)
        array_wall = time.perf_counter() - started
        array_cpu = sum(float(x) for x in cpu_file.read_text().split())
        if done.returncode:
            print("slurm array failed:", done.stderr)
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        started = time.perf_counter()
        subprocess.run([str(pytest_bin), "bench_suites", "-p", "no:cacheprovider", "-q",
                        "--llmbench-output", str(work / "runs")], cwd=ROOT, capture_output=True)
        one_wall = time.perf_counter() - started
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        one_cpu = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
        print(f"bundled suites, 4 Slurm array tasks: wall {array_wall:.1f} s, CPU {array_cpu:.1f} s"
              f" | one process: wall {one_wall:.1f} s, CPU {one_cpu:.1f} s | "
              f"wall ratio {array_wall / one_wall:.2f}x, CPU ratio {array_cpu / one_cpu:.2f}x")
    finally:
        cluster.stop()
        shutil.rmtree(work, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--slurm", action="store_true")
    args = parser.parse_args()
    bench_merge(args.n, args.repeat)
    if args.slurm:
        bench_slurm()


if __name__ == "__main__":
    main()
