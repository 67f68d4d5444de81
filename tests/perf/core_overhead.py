"""How much does pytest-llmbench cost on top of pytest itself? (a script, not a test)

Runs ``python -m pytest`` in subprocesses, each in a fresh temp directory, and
prints absolute figures with ratios against a bare-pytest baseline measured in
the same run: (1) overhead -- 10,000 suite items against the instant
``inproc:oracle`` provider vs 10,000 trivially passing parametrized tests
(plugin disabled), wall time, median of 3 (target <= 1.3x); (2) collection --
``--collect-only -q`` of 100,000 suite items vs 100,000 parametrized tests,
wall time and the child's peak RSS from ``os.wait4`` (targets <= 1.5x); (3)
concurrency -- 1,000 items with a 0.2 s oracle delay at
``--llmbench-concurrency 32`` in one process, and at ``-n 2
--llmbench-concurrency 16``, against ideal = 1000 * 0.2 / 32 s plus bare
pytest's own time for 1,000 trivial tests (with ``-n 2`` for the second)
(target <= 1.25). Every figure is the median of 3 timed runs after one untimed
warm-up run, baseline and llmbench runs alternating; children run with
bytecode caching on. Misses are flagged, never asserted; exit status is 0.
Run it on an otherwise idle machine.
``--quick`` divides every item count by 10 for a smoke run (the ideal of the
concurrency rows then ignores the rounding up to whole waves, so expect misses).

    .venv/bin/python tests/perf/core_overhead.py            # full run (about 5 minutes)
    .venv/bin/python tests/perf/core_overhead.py --quick    # smoke run
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

MODEL = "inproc:oracle"
DELAY = 0.2
BASE_ARGS = ["-q", "-p", "no:cacheprovider"]
NO_PLUGIN = ["-p", "no:llmbench"]  # the pytest11 entry point name: bare pytest
_SCRUB = ("PYTEST_ADDOPTS", "PYTEST_XDIST_WORKER", "PYTEST_PLUGINS", "BENCHMARK_MODELS",
          "LLMBENCH_CONFIG", "LLMBENCH_OUTPUT", "LLMBENCH_SIM_URL", "PYTHONDONTWRITEBYTECODE")


@dataclass
class Run:
    wall_s: float
    maxrss_mb: float
    rc: int


def child_env() -> dict[str, str]:
    # bytecode caches on, as on a user's machine (a sandbox may set PYTHONDONTWRITEBYTECODE)
    return {k: v for k, v in os.environ.items() if k not in _SCRUB}


def run_pytest(cwd: Path, args: list[str], log_name: str) -> Run:
    """One ``python -m pytest`` child: wall time and its own peak RSS (os.wait4)."""
    log = cwd / log_name
    with log.open("wb") as out:
        start = time.perf_counter()
        proc = subprocess.Popen([sys.executable, "-m", "pytest", *args], cwd=cwd,
                                stdout=out, stderr=subprocess.STDOUT, env=child_env())
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        tail = log.read_text(errors="replace").splitlines()[-15:]
        print(f"  ! pytest {' '.join(args)} exited {proc.returncode}:", *tail, sep="\n    ",
              flush=True)
    return Run(wall, usage.ru_maxrss / 1024, proc.returncode)  # Linux: ru_maxrss in KiB


def paired(cwd: Path, base_args: list[str], ours_args: list[str], repeats: int, label: str
           ) -> tuple[tuple[float, float], tuple[float, float]]:
    """Median (wall, peak RSS) of the baseline and of ours, after one untimed warm-up run of
    each (bytecode and page caches). Runs alternate baseline/ours, so a load change on a
    shared machine hits both alike."""
    run_pytest(cwd, base_args, f"{label}-base-warmup.log")
    run_pytest(cwd, ours_args, f"{label}-ours-warmup.log")
    base_runs, our_runs = [], []
    for i in range(repeats):
        base_runs.append(run_pytest(cwd, base_args, f"{label}-base-{i}.log"))
        our_runs.append(run_pytest(cwd, ours_args, f"{label}-ours-{i}.log"))
    out = []
    for name, runs in (("baseline", base_runs), ("llmbench", our_runs)):
        walls = ", ".join(f"{r.wall_s:.2f}" for r in runs)
        rss = statistics.median(r.maxrss_mb for r in runs)
        print(f"  {label} {name}: wall {walls} s; rss {rss:.0f} MB", flush=True)
        out.append((statistics.median(r.wall_s for r in runs), rss))
    return out[0], out[1]


def make_dir(root: Path, name: str, n: int, delay: float | None = None) -> Path:
    """A rootdir with a pytest.ini, an n-row JSONL suite (bench.yaml), a bare test file
    with n parametrized trivial tests (test_bare.py) and optionally an llmbench.yaml."""
    path = root / name
    path.mkdir()
    (path / "pytest.ini").write_text("[pytest]\n")
    with (path / "data.jsonl").open("w") as handle:
        for i in range(n):
            handle.write(json.dumps({"id": f"q{i:06d}", "question": f"{i} + {i}",
                                     "answer": str(2 * i)}) + "\n")
    (path / "bench.yaml").write_text(
        "name: bench\ndataset: data.jsonl\nprompt: 'What is {question}?'\n"
        "expected: answer\nscorer: exact\n")
    (path / "test_bare.py").write_text(
        "import pytest\n\n\n"
        f"@pytest.mark.parametrize('i', range({n}), "
        f"ids=[f'{MODEL}/q{{i:06d}}' for i in range({n})])\n"
        "def test_bare(i):\n    assert i >= 0\n")
    if delay is not None:
        (path / "llmbench.yaml").write_text(f'models:\n  "{MODEL}": {{delay: {delay}}}\n')
    return path


def bench_args(path: Path) -> list[str]:
    return ["bench.yaml", "--llmbench-models", MODEL, "--llmbench-output", str(path / "runs")]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="10x fewer items (smoke run)")
    parser.add_argument("--repeats", type=int, default=3, help="runs per figure (median)")
    opts = parser.parse_args()
    scale = 10 if opts.quick else 1
    n_run, n_collect, n_conc = 10_000 // scale, 100_000 // scale, 1_000 // scale
    reps = opts.repeats
    rows: list[tuple[str, str, str, float, float]] = []

    with tempfile.TemporaryDirectory(prefix="llmbench-perf-") as tmp:
        root = Path(tmp)

        # 1. per-item overhead with the instant provider
        print(f"[1] overhead: {n_run} items", flush=True)
        d = make_dir(root, "overhead", n_run)
        (bare, _), (bench, _) = paired(d, ["test_bare.py", *BASE_ARGS, *NO_PLUGIN],
                                       [*bench_args(d), *BASE_ARGS], reps, "run")
        rows.append((f"run {n_run:,} items, instant oracle", f"{bench:.2f} s", f"{bare:.2f} s",
                     bench / bare, 1.3))

        # 2. collection time and memory
        print(f"[2] collection: {n_collect} items", flush=True)
        d = make_dir(root, "collect", n_collect)
        (bare, bare_rss), (bench, bench_rss) = paired(
            d, ["test_bare.py", "--collect-only", *BASE_ARGS, *NO_PLUGIN],
            [*bench_args(d), "--collect-only", *BASE_ARGS], reps, "collect")
        rows.append((f"collect {n_collect:,} items: time", f"{bench:.2f} s", f"{bare:.2f} s",
                     bench / bare, 1.5))
        rows.append((f"collect {n_collect:,} items: peak RSS", f"{bench_rss:.0f} MB",
                     f"{bare_rss:.0f} MB", bench_rss / bare_rss, 1.5))

        # 3. concurrency: do calls overlap as promised?
        ideal = n_conc * DELAY / 32
        print(f"[3] concurrency: {n_conc} items, delay {DELAY}s", flush=True)
        d = make_dir(root, "concurrency", n_conc, delay=DELAY)
        (bare, _), (bench, _) = paired(
            d, ["test_bare.py", *BASE_ARGS, *NO_PLUGIN],
            [*bench_args(d), *BASE_ARGS, "--llmbench-concurrency", "32"], reps, "c32")
        rows.append((f"{n_conc:,} x {DELAY}s, c=32, 1 process", f"{bench:.2f} s",
                     f"{ideal:.2f}+{bare:.2f} s", bench / (ideal + bare), 1.25))
        (bare, _), (bench, _) = paired(
            d, ["test_bare.py", *BASE_ARGS, *NO_PLUGIN, "-n", "2"],
            [*bench_args(d), *BASE_ARGS, "-n", "2", "--llmbench-concurrency", "16"], reps,
            "n2-c16")
        rows.append((f"{n_conc:,} x {DELAY}s, c=16, -n 2", f"{bench:.2f} s",
                     f"{ideal:.2f}+{bare:.2f} s", bench / (ideal + bare), 1.25))

    title = f"pytest-llmbench core overhead ({'quick' if opts.quick else 'full'}, " \
            f"median of {reps}, python {sys.version.split()[0]}, {os.cpu_count()} CPUs)"
    widths = (max(len(r[0]) for r in rows), 10, 14)
    print(f"\n{title}")
    print(f"{'measurement':<{widths[0]}}  {'llmbench':>{widths[1]}}  "
          f"{'baseline':>{widths[2]}}  {'ratio':>6}  {'target':>7}")
    for name, ours, base, ratio, target in rows:
        flag = "ok" if ratio <= target else "MISS"
        print(f"{name:<{widths[0]}}  {ours:>{widths[1]}}  {base:>{widths[2]}}  "
              f"{ratio:>5.2f}x  <={target:<4}  {flag}")
    print("baseline: bare pytest (-p no:llmbench) on the same number of trivial parametrized "
          "tests; concurrency rows: ideal (n*0.2/32) + bare")
    return 0


if __name__ == "__main__":
    sys.exit(main())
