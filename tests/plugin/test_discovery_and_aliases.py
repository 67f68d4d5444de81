"""``vllm:*`` / ``ollama:*`` expand once on the controller; aliases and served names."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from pytest_llmbench.sim import SimServer
from pytest_llmbench.sim.config import ModelProfile, SimConfig
from tests.conftest import read_records

ROWS = [{"id": f"r{i:02d}", "question": str(i), "answer": str(i)} for i in range(6)]


@pytest.fixture
def sim() -> Iterator[SimServer]:
    """A simulator serving exactly two models, so the expansion is known."""
    config = SimConfig(models={"alpha": ModelProfile("alpha", policy="echo"),
                               "beta": ModelProfile("beta", policy="echo")})
    with SimServer(config=config) as server:
        yield server


def _suite(pytester: pytest.Pytester) -> None:
    (pytester.path / "echo.jsonl").write_text("".join(json.dumps(r) + "\n" for r in ROWS))
    pytester.makefile(".yaml", echo="name: echo\ndataset: echo.jsonl\nprompt: '{question}'\n"
                                    "expected: answer\n")


def _model_listings(sim: SimServer) -> dict[str, int]:
    routes = sim.metrics["requests_by_route"]
    return {r: n for r, n in routes.items() if r in ("/v1/models", "/api/tags")}


def test_wildcard_expands_once_on_the_controller_under_n2(pytester: pytest.Pytester,
                                                         sim: SimServer) -> None:
    _suite(pytester)
    pytester.makefile(".yaml", llmbench=f"""
models:
  "vllm:*":
    base_url: {sim.base_url}/v1
    params: {{max_tokens: 16}}
""")
    result = pytester.runpytest_subprocess("echo.yaml", "-n", "2", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=12)
    records = read_records(pytester)
    assert sorted({r["model"] for r in records}) == ["vllm:alpha", "vllm:beta"]
    assert {r["worker"] for r in records} == {"gw0", "gw1"}
    assert _model_listings(sim) == {"/v1/models": 1}  # asked once, by the controller


def test_ollama_wildcard_from_the_command_line_uses_api_tags(pytester: pytest.Pytester,
                                                            sim: SimServer) -> None:
    _suite(pytester)
    pytester.makefile(".yaml", llmbench=f'models:\n  "ollama:*":\n    base_url: {sim.base_url}/v1\n')
    result = pytester.runpytest_subprocess("echo.yaml", "--llmbench-models", "ollama:*",
                                           "--collect-only", "-q")
    result.stdout.fnmatch_lines(["*echo[[]ollama:alpha/r00[]]*", "*echo[[]ollama:beta/r05[]]*"])
    assert _model_listings(sim) == {"/api/tags": 1}


def test_unreachable_server_is_a_usage_error(pytester: pytest.Pytester) -> None:
    _suite(pytester)
    result = pytester.runpytest_subprocess("echo.yaml", "--llmbench-models", "vllm:*")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*vllm:[*]: cannot list models at http://localhost:8000/v1/models*"])


def test_alias_and_served_name(pytester: pytest.Pytester, sim: SimServer) -> None:
    """``aliases`` names a model on the command line; ``served_name`` is the id sent to the
    server (an older server's name for it) while records keep the configured name."""
    _suite(pytester)
    pytester.makefile(".yaml", llmbench=f"""
aliases:
  small: vllm:llama-3.1-8b
models:
  vllm:llama-3.1-8b:
    base_url: {sim.base_url}/v1
    served_name: beta
""")
    result = pytester.runpytest_subprocess("echo.yaml", "--llmbench-models", "small")
    result.assert_outcomes(passed=6)
    assert {r["model"] for r in read_records(pytester)} == {"vllm:llama-3.1-8b"}
    served = {(r["route"], r["model"]) for r in sim.metrics["requests"]}
    assert ("/v1/chat/completions", "beta") in served


def test_bad_alias_is_named(pytester: pytest.Pytester) -> None:
    _suite(pytester)
    pytester.makefile(".yaml", llmbench="aliases:\n  small: not-a-spec\n")
    result = pytester.runpytest("echo.yaml")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*llmbench.yaml: aliases.small: 'not-a-spec' is not provider:model*"])
