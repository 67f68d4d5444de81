"""The scheduled-runner and CI examples parse and use only options that exist."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from pytest_llmbench.plugin.options import OPTIONS

EXAMPLES = Path(__file__).parents[2] / "examples"
KNOWN = {option.cli for option in OPTIONS}


def _options(text: str) -> set[str]:
    return set(re.findall(r"--llmbench-[a-z-]+", text))


def test_ci_workflow_and_compose_parse_and_name_known_options() -> None:
    workflow = yaml.safe_load((EXAMPLES / "ci" / "llmbench.yml").read_text())
    steps = workflow["jobs"]["benchmark"]["steps"]
    runs = " ".join(step.get("run", "") for step in steps)
    assert "--llmbench-replay" in runs and "--llmbench-gate" in runs
    assert _options(runs) <= KNOWN
    compose = yaml.safe_load((EXAMPLES / "scheduled_runner" / "docker-compose.yml").read_text())
    env = compose["services"]["runner"]["environment"]
    assert {"INGEST_API_URL", "INGEST_API_KEY", "BENCHMARK_MODELS"} <= set(env)
    dockerfile = (EXAMPLES / "scheduled_runner" / "Dockerfile").read_text()
    assert "llmbench watch --interval" in dockerfile
    assert _options(dockerfile) <= KNOWN
