"""What does an installed but unused pytest-llmbench cost? (a script, not a test)

A one-test project (plus an unrelated Hydra-style YAML config) is run with
``python -m pytest -q`` and with ``-p no:llmbench`` (the pytest11 entry point name),
alternating, after one untimed warm-up of each; it prints the median wall time of
each and their ratio (target <= 1.05), and checks what users see: the same output
lines, no ``.llmbench`` run folder, no simulator process left or started (the
run's children are counted by psutil while it runs). Misses are flagged, never
asserted; exit status is 0. Run it on an otherwise idle machine.

    .venv/bin/python tests/perf/unused_overhead.py [--rounds 15]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil

BASE = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"]
_SCRUB = ("PYTEST_ADDOPTS", "PYTEST_PLUGINS", "BENCHMARK_MODELS", "LLMBENCH_CONFIG",
          "LLMBENCH_OUTPUT", "LLMBENCH_SIM_URL", "PYTHONDONTWRITEBYTECODE")


def _project(root: Path) -> None:
    (root / "test_one.py").write_text("def test_ok():\n    assert 1 + 1 == 2\n")
    (root / "conf").mkdir()
    (root / "conf" / "config.yaml").write_text("defaults:\n  - model: resnet\ndataset: cifar10\n")


def _run(root: Path, extra: list[str]) -> tuple[float, str, int]:
    """Wall time, output (timings stripped) and how many simulator children it started."""
    env = {k: v for k, v in os.environ.items() if k not in _SCRUB}
    start = time.perf_counter()
    proc = subprocess.Popen([*BASE, *extra], cwd=root, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    sims: set[int] = set()
    while proc.poll() is None:
        try:
            for child in psutil.Process(proc.pid).children(recursive=True):
                if "pytest_llmbench.sim" in " ".join(child.cmdline()):
                    sims.add(child.pid)
        except psutil.Error:
            pass
        time.sleep(0.01)
    wall = time.perf_counter() - start
    out = proc.stdout.read() if proc.stdout else ""
    lines = "\n".join(line.split(" in ")[0] for line in out.splitlines())
    return wall, lines, len(sims)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        _project(root)
        _run(root, [])
        _run(root, ["-p", "no:llmbench"])
        plugin, bare, children = [], [], 0
        outputs = set()
        for _ in range(args.rounds):
            wall, out, kids = _run(root, [])
            plugin.append(wall)
            children = max(children, kids)
            outputs.add(("plugin", out))
            wall, out, _ = _run(root, ["-p", "no:llmbench"])
            bare.append(wall)
            outputs.add(("bare", out))
        made = sorted(p.name for p in root.iterdir())
    with_plugin, without = statistics.median(plugin), statistics.median(bare)
    ratio = with_plugin / without
    same_output = len({out for _, out in outputs}) == 1
    print(f"one-test project, median of {args.rounds} (python -m pytest -q)")
    print(f"  with llmbench     {with_plugin:7.3f} s")
    print(f"  -p no:llmbench    {without:7.3f} s")
    print(f"  ratio             {ratio:7.3f}   (target <= 1.05){'' if ratio <= 1.05 else '  MISS'}")
    print(f"  same output       {same_output}{'' if same_output else '  MISS'}")
    print(f"  files left        {made}{'' if '.llmbench' not in made else '  MISS'}")
    print(f"  simulators        {children}{'' if children == 0 else '  MISS'}")


if __name__ == "__main__":
    main()
