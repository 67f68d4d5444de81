"""Helpers for target tests: the simulator as a process or Docker target, config files, and a
local Docker image (no registry: an almost empty root file system imported with ``docker
import``, with the host's Python, virtualenv and this checkout mounted read-only)."""

from __future__ import annotations

import io
import json
import subprocess
import sys
import tarfile
from pathlib import Path
from typing import Any

import pytest
import yaml

from pytest_llmbench.targets.docker import LABEL_RUN, docker_status

ROOT = Path(__file__).resolve().parents[2]
IMAGE = "llmbench-target-test:latest"
PYTHON = sys.executable


def sim_command(profile: str = "default:ttft_ms=20,itl_ms=1") -> list[str]:
    return [PYTHON, "-m", "pytest_llmbench.sim", "--port", "{port}", "--model", profile]


CRASHING = ("import subprocess, sys, time\n"
            "sim = subprocess.Popen([sys.executable, '-m', 'pytest_llmbench.sim', '--port', "
            "sys.argv[1], '--model', 'default:ttft_ms=150,itl_ms=1'])\n"
            "time.sleep(float(sys.argv[2]))\n"
            "print('FATAL: engine crashed (simulated)', flush=True)\n"
            "sim.kill()\n"
            "sys.exit(7)\n")
"""A target that serves for a while, then dies with a last word in its log."""


def crashing_command(after_s: float) -> list[str]:
    return [PYTHON, "-c", CRASHING, "{port}", str(after_s)]


def write_config(directory: Path, targets: dict[str, Any], **extra: Any) -> None:
    (directory / "llmbench.yaml").write_text(yaml.safe_dump({"targets": targets, **extra}))


def run_dir(pytester: pytest.Pytester) -> Path:
    return pytester.path / ".llmbench" / "runs" / "latest"


def run_info(pytester: pytest.Pytester) -> dict[str, Any]:
    return json.loads((run_dir(pytester) / "run.json").read_text())  # type: ignore[no-any-return]


# Docker -------------------------------------------------------------------------

def _mounts() -> list[str]:
    """The host's Python, virtualenv and this checkout, read-only at the same paths."""
    paths = {Path("/usr"), Path(sys.base_prefix).resolve(), Path(sys.prefix), ROOT}
    top = sorted(p for p in paths if not any(q != p and q in p.parents for q in paths))
    return [f"{p}:{p}:ro" for p in top]


def _rootfs() -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for name in ("tmp", "etc", "usr", "root", "proc", "dev", "sys", "run"):
            info = tarfile.TarInfo(name)
            info.type, info.mode = tarfile.DIRTYPE, 0o1777 if name == "tmp" else 0o755
            tar.addfile(info)
        for name in ("bin", "lib", "lib64", "sbin"):
            info = tarfile.TarInfo(name)
            info.type, info.linkname = tarfile.SYMTYPE, f"usr/{name}"
            tar.addfile(info)
        passwd = b"root:x:0:0:root:/root:/bin/false\n"
        info = tarfile.TarInfo("etc/passwd")
        info.size = len(passwd)
        tar.addfile(info, io.BytesIO(passwd))
    return buf.getvalue()


@pytest.fixture(scope="session")
def docker_image(request: pytest.FixtureRequest) -> str:
    """The test image (built once); skips without a Docker engine unless
    --llmbench-require-docker (CI) makes that an error."""
    why = docker_status()
    if why is not None:
        if request.config.getoption("llmbench_require_docker"):
            pytest.fail(f"--llmbench-require-docker: {why}", pytrace=False)
        pytest.skip(f"Docker not available: {why}")
    import docker

    client = docker.from_env()
    try:
        repository, tag = IMAGE.split(":")
        client.api.import_image_from_data(_rootfs(), repository=repository, tag=tag)
    finally:
        client.close()
    return IMAGE


def docker_target(image: str, command: list[str], **extra: Any) -> dict[str, Any]:
    return {"image": image, "command": command, "port": "auto", "network": "host",
            "volumes": _mounts(), "startup_timeout": 60, "stop_timeout": 2, **extra}


def containers_of(run_id: str) -> list[str]:
    out = subprocess.run(["docker", "ps", "-a", "--filter", f"label={LABEL_RUN}={run_id}",
                          "--format", "{{.Names}}"], capture_output=True, text=True, check=True)
    return out.stdout.split()
