"""Fixtures for the agent tests: a simulator process, task folders, Docker or a skip
(an error under $LLMBENCH_REQUIRE_DOCKER=1, as in CI)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from pytest_llmbench.scoring.sandbox.docker import docker_status


def docker_or_skip(config: pytest.Config) -> None:
    from pytest_llmbench.plugin import options

    why = docker_status()
    if why is None:
        return
    if options.resolve(config, "require_docker"):
        pytest.fail(f"--llmbench-require-docker: {why}", pytrace=False)
    pytest.skip(f"Docker not available: {why}")


@pytest.fixture(scope="session")
def sim_url() -> Iterator[str]:
    from pytest_llmbench.sim import start_sim_process

    process = start_sim_process(port=0)
    try:
        yield process.base_url
    finally:
        process.stop()


def write_task(folder: Path, *, check: str = "python3 -m unittest discover -s tests -v",
               instruction: str = "Make `answer()` in answer.py return 42.",
               solution: str | None = None, front: str = "", files: dict[str, str] | None = None,
               tests: dict[str, str] | None = None) -> Path:
    """A markdown task folder (repo/, tests/, optional solution.yaml)."""
    folder.mkdir(parents=True, exist_ok=True)
    head = f"check: {check}\n{front}" if check else front
    (folder / "task.md").write_text(f"---\n{head}---\n{instruction}\n")
    for name, text in (files if files is not None else
                       {"answer.py": "def answer():\n    return 41\n"}).items():
        path = folder / "repo" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    for name, text in (tests if tests is not None else {"test_answer.py": TEST_ANSWER}).items():
        path = folder / "tests" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    if solution is not None:
        (folder / "solution.yaml").write_text(solution)
    return folder


TEST_ANSWER = """import sys
import unittest
from pathlib import Path
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from answer import answer


class AnswerTest(unittest.TestCase):
    def test_answer(self):
        self.assertEqual(answer(), 42)
"""

SOLVE = """- tool: read_file
  args: {path: answer.py}
- tool: edit_file
  args: {path: answer.py, old: "return 41", new: "return 42"}
"""


def model_spec(name: str, **settings: Any) -> Any:
    from pytest_llmbench.config import ModelSpec

    spec = ModelSpec.parse(name)
    return spec.__class__(**{**spec.__dict__, "settings": {**spec.settings, **settings}})
