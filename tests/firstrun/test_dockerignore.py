"""The scheduled runner's build context leaves local environments out (issue 17, point 21)."""

from __future__ import annotations

import io
import tarfile
import uuid
from pathlib import Path

import pytest

from tests.scoring.conftest import docker_or_skip

ROOT = Path(__file__).resolve().parents[2]


def test_build_context_excludes_venv_git_and_runs(request: pytest.FixtureRequest,
                                                  tmp_path: Path) -> None:
    """A real ``docker build`` of the repository root (FROM scratch: nothing is pulled),
    whose image holds exactly the context the daemon received."""
    docker_or_skip(request.config)
    import docker

    for made in (".venv", ".llmbench/runs", "pytest_llmbench/__pycache__"):
        (ROOT / made).mkdir(parents=True, exist_ok=True)
    dockerfile = tmp_path / "Dockerfile"
    dockerfile.write_text("FROM scratch\nCOPY . /ctx/\n")
    client = docker.from_env()
    tag = f"llmbench-ctx-{uuid.uuid4().hex[:8]}"
    try:
        client.images.build(path=str(ROOT), dockerfile=str(dockerfile), tag=tag, rm=True)
        container = client.containers.create(tag, command=["none"])
        try:
            stream, _ = container.get_archive("/ctx")
            names = tarfile.open(fileobj=io.BytesIO(b"".join(stream))).getnames()
        finally:
            container.remove()
    finally:
        client.images.remove(tag, force=True)
    top = {name.split("/")[1] for name in names if name.count("/") >= 1}
    assert {"pytest_llmbench", "bench_suites", "pyproject.toml", "README.md"} <= top
    assert not top & {".venv", ".git", ".llmbench", ".benchmarks"}
    assert not [n for n in names if "__pycache__" in n]
