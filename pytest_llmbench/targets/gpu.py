"""GPU inventory and telemetry from ``nvidia-smi``.

``nvidia-smi`` ships with every NVIDIA driver, in containers and on hosts, and
reads NVML itself, so no Python binding is needed. The inventory (name,
memory, driver, CUDA version) goes into ``run.json``; telemetry is one
``nvidia-smi --loop-ms`` process writing CSV samples into the run directory for
the length of the run, summarised per GPU at the end.
"""

from __future__ import annotations

import csv
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

SMI = "nvidia-smi"
_INVENTORY = ("index", "name", "uuid", "memory.total", "driver_version")
TELEMETRY_FIELDS = ("timestamp", "index", "utilization.gpu", "memory.used", "memory.total",
                    "power.draw", "clocks.sm", "clocks.mem", "temperature.gpu")
_CUDA = re.compile(r"CUDA Version:\s*([0-9.]+)")


def _run(*args: str) -> str | None:
    path = shutil.which(SMI)
    if path is None:
        return None
    try:
        done = subprocess.run([path, *args], capture_output=True, text=True, timeout=30,
                              check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout if done.returncode == 0 else None


def _number(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None  # "[N/A]", "[Not Supported]"


def inventory() -> list[dict[str, Any]]:
    """The GPUs of this machine ([] without a driver): index, name, uuid, memory, driver
    and CUDA version."""
    out = _run(f"--query-gpu={','.join(_INVENTORY)}", "--format=csv,noheader,nounits")
    if not out:
        return []
    header = _run() or ""
    cuda = _CUDA.search(header)
    gpus = []
    for row in csv.reader(out.strip().splitlines(), skipinitialspace=True):
        if len(row) < len(_INVENTORY):
            continue
        index, name, uuid, memory, driver = (cell.strip() for cell in row[:5])
        memory_mib = _number(memory)
        gpus.append({"index": int(index) if index.isdigit() else index, "name": name,
                     "uuid": uuid, "memory_total_mib": memory_mib, "driver_version": driver,
                     "cuda_version": cuda.group(1) if cuda else None})
    return gpus


def no_gpu_reason() -> str | None:
    """None when a GPU is visible, else why not."""
    if shutil.which(SMI) is None:
        return "no GPU: nvidia-smi not found"
    return None if inventory() else "no GPU: nvidia-smi lists none"


class TelemetrySampler:
    """``nvidia-smi --query-gpu=... --loop-ms=N`` writing CSV into ``path`` until stopped."""

    def __init__(self, path: Path, interval_s: float) -> None:
        self.path = path
        self.interval_ms = max(int(interval_s * 1000), 50)
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> bool:
        smi = shutil.which(SMI)
        if smi is None:
            return False
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("wb") as out:
            self.proc = subprocess.Popen(
                [smi, f"--query-gpu={','.join(TELEMETRY_FIELDS)}", "--format=csv,nounits",
                 f"--loop-ms={self.interval_ms}"], stdout=out, stderr=subprocess.DEVNULL,
                stdin=subprocess.DEVNULL)
        return True

    def stop(self) -> dict[str, Any] | None:
        """Stop sampling; the per-GPU summary of what was sampled."""
        if self.proc is None:
            return None
        proc, self.proc = self.proc, None
        proc.terminate()
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)
        return summarise(self.path)


def summarise(path: Path) -> dict[str, Any]:
    """Per GPU: samples, mean/max utilisation, max memory used, mean/max power, mean SM clock."""
    series: dict[str, dict[str, list[float]]] = {}
    try:
        lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        lines = []
    for row in csv.reader(lines, skipinitialspace=True):
        if len(row) < len(TELEMETRY_FIELDS) or row[0].strip() == "timestamp":
            continue
        values = dict(zip(TELEMETRY_FIELDS, (c.strip() for c in row), strict=False))
        gpu = series.setdefault(values["index"], {})
        for name in ("utilization.gpu", "memory.used", "power.draw", "clocks.sm"):
            number = _number(values[name])
            if number is not None:
                gpu.setdefault(name, []).append(number)
    return {"file": path.name, "gpus": {index: _stats(values) for index, values in series.items()}}


def _stats(values: dict[str, list[float]]) -> dict[str, Any]:
    def mean(name: str) -> float | None:
        data = values.get(name)
        return round(sum(data) / len(data), 2) if data else None

    def peak(name: str) -> float | None:
        data = values.get(name)
        return max(data) if data else None

    return {"samples": max((len(v) for v in values.values()), default=0),
            "utilization_mean_pct": mean("utilization.gpu"),
            "utilization_max_pct": peak("utilization.gpu"),
            "memory_used_max_mib": peak("memory.used"), "power_mean_w": mean("power.draw"),
            "power_max_w": peak("power.draw"), "sm_clock_mean_mhz": mean("clocks.sm")}
