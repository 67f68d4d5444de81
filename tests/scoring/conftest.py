"""Sandbox backends for the scoring tests: the subprocess one always, Docker when an
engine answers (skipped otherwise, an error under --llmbench-require-docker or
$LLMBENCH_REQUIRE_DOCKER=1, as in CI)."""

from __future__ import annotations

import pytest

from pytest_llmbench.plugin import options
from pytest_llmbench.scoring.sandbox import Sandbox, get_sandbox
from pytest_llmbench.scoring.sandbox.docker import docker_status


def docker_or_skip(config: pytest.Config) -> None:
    why = docker_status()
    if why is None:
        return
    if options.resolve(config, "require_docker"):
        pytest.fail(f"--llmbench-require-docker: {why}", pytrace=False)
    pytest.skip(f"Docker not available: {why}")


@pytest.fixture(params=["subprocess", "docker"])
def sandbox(request: pytest.FixtureRequest) -> Sandbox:
    if request.param == "docker":
        docker_or_skip(request.config)
    return get_sandbox(request.param)
