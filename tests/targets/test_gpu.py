"""GPU inventory, telemetry and the ``gpu`` marker, with a fake ``nvidia-smi`` on PATH (and
without one)."""

from __future__ import annotations

import os
import stat
import sys
from pathlib import Path

import pytest

from pytest_llmbench.targets import gpu
from tests.conftest import write_suite
from tests.targets.conftest import run_dir, run_info

FAKE_SMI = r'''#!/usr/bin/env python3
"""A fake nvidia-smi: two H100s; --query-gpu answers CSV, --loop-ms repeats it."""
import sys, time

args = sys.argv[1:]
query = next((a.split("=", 1)[1] for a in args if a.startswith("--query-gpu=")), None)
if query is None:
    print("| NVIDIA-SMI 550.54.15    Driver Version: 550.54.15    CUDA Version: 12.4 |")
    sys.exit(0)
fields = query.split(",")
values = {"index": ["0", "1"], "name": ["NVIDIA H100 80GB HBM3"] * 2,
          "uuid": ["GPU-aaaa", "GPU-bbbb"], "memory.total": ["81559", "81559"],
          "driver_version": ["550.54.15"] * 2, "timestamp": ["2026/11/25 10:00:00.000"] * 2,
          "utilization.gpu": ["87", "[N/A]"], "memory.used": ["40000", "1200"],
          "power.draw": ["512.25", "70.10"], "clocks.sm": ["1980", "345"],
          "clocks.mem": ["2619", "2619"], "temperature.gpu": ["61", "33"]}
header = "noheader" not in ",".join(args)
loop = next((a for a in args if a.startswith("--loop-ms=")), None)
while True:
    if header:
        print(", ".join(fields))
        header = False
    for i in range(2):
        print(", ".join(values[f][i] for f in fields), flush=True)
    if loop is None:
        break
    time.sleep(int(loop.split("=")[1]) / 1000)
'''


@pytest.fixture
def fake_smi(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "bin"
    folder.mkdir()
    smi = folder / "nvidia-smi"
    smi.write_text(FAKE_SMI)
    smi.chmod(smi.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("PATH", f"{folder}{os.pathsep}{os.environ['PATH']}")
    return smi


@pytest.fixture
def no_smi(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    python_dir = Path(sys.executable).parent
    monkeypatch.setenv("PATH", str(python_dir))


def test_inventory_from_nvidia_smi(fake_smi: Path) -> None:
    gpus = gpu.inventory()
    assert [g["index"] for g in gpus] == [0, 1]
    assert gpus[0] == {"index": 0, "name": "NVIDIA H100 80GB HBM3", "uuid": "GPU-aaaa",
                       "memory_total_mib": 81559.0, "driver_version": "550.54.15",
                       "cuda_version": "12.4"}
    assert gpu.no_gpu_reason() is None


def test_no_nvidia_smi_means_no_gpus(no_smi: None) -> None:
    assert gpu.inventory() == []
    assert gpu.no_gpu_reason() == "no GPU: nvidia-smi not found"


def test_telemetry_sampler_summarises_per_gpu(fake_smi: Path, tmp_path: Path) -> None:
    import time

    sampler = gpu.TelemetrySampler(tmp_path / "gpu_telemetry.csv", 0.05)
    assert sampler.start()
    time.sleep(0.5)
    summary = sampler.stop()
    assert summary is not None and summary["file"] == "gpu_telemetry.csv"
    first, second = summary["gpus"]["0"], summary["gpus"]["1"]
    assert first["samples"] >= 2 and first["utilization_mean_pct"] == 87.0
    assert first["power_max_w"] == 512.25 and first["memory_used_max_mib"] == 40000.0
    assert second["utilization_mean_pct"] is None  # [N/A] is not a zero


GPU_TESTS = """
    import pytest

    @pytest.mark.gpu
    def test_one_gpu():
        pass

    @pytest.mark.gpu(count=4)
    def test_four_gpus():
        pass

    def test_cpu():
        pass
"""


def test_gpu_marker_and_run_json_with_a_gpu(pytester: pytest.Pytester, fake_smi: Path) -> None:
    pytester.makepyfile(test_gpus=GPU_TESTS)
    write_suite(pytester.path)
    result = pytester.runpytest_subprocess("-rs", "test_gpus.py", "arith.yaml",
                                           "--llmbench-gpu-telemetry", "0.05")
    result.assert_outcomes(passed=12, skipped=1)
    result.stdout.fnmatch_lines(["*llmbench targets and GPUs*",
                                 "GPU 0: utilisation mean 87% max 87%, memory max 40000 MiB*",
                                 "GPU 1: utilisation mean - max -, *", "*needs 4 GPUs, 2 found*"])
    info = run_info(pytester)
    assert [g["name"] for g in info["gpus"]] == ["NVIDIA H100 80GB HBM3"] * 2
    assert info["gpus"][0]["cuda_version"] == "12.4"
    assert info["gpu_telemetry"]["gpus"]["0"]["samples"] >= 1
    assert (run_dir(pytester) / "gpu_telemetry.csv").read_text().startswith("timestamp")
    report = (run_dir(pytester) / "report.html").read_text()
    assert "<h3>GPUs</h3>" in report and "NVIDIA H100 80GB HBM3" in report
    assert "<h3>GPU telemetry</h3>" in report and "utilization_mean_pct" in report


def test_gpu_marker_skips_without_a_gpu(pytester: pytest.Pytester, no_smi: None) -> None:
    pytester.makepyfile(test_gpus=GPU_TESTS)
    result = pytester.runpytest_subprocess("-rs", "test_gpus.py", "-n", "2")
    result.assert_outcomes(passed=1, skipped=2)
    result.stdout.fnmatch_lines(["*no GPU: nvidia-smi not found*"])
