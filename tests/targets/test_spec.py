"""Target declarations, commits, model binding and the comparison columns (plain functions),
plus what a run does when Docker is missing."""

from __future__ import annotations

import re

import pytest

from pytest_llmbench.config import ModelSpec
from pytest_llmbench.errors import ConfigError
from pytest_llmbench.results.compare_targets import add_target_columns
from pytest_llmbench.targets import binding
from pytest_llmbench.targets.docker import DockerTarget, device_requests
from pytest_llmbench.targets.spec import parse_commits, parse_targets
from tests.conftest import write_suite
from tests.targets.conftest import write_config

DECLARED = {
    "baseline": {"image": "vllm/vllm-openai:v0.6.3", "port": 8000, "gpus": [0]},
    "local": {"command": "vllm serve m --port {port}", "port": "auto"},
    "remote": {"url": "http://10.0.0.5:8000"},
    "engine": {"image": "myorg/vllm-bench:{commit}", "port": 8000, "gpus": "all",
               "shm_size": "16g", "env": {"BUILD": "{commit}"}},
}


def test_kinds_are_inferred_and_templates_set_apart() -> None:
    config = parse_targets(DECLARED, "llmbench.yaml")
    assert {n: t.kind for n, t in config.targets.items()} == {
        "baseline": "docker", "local": "process", "remote": "url"}
    assert list(config.templates) == ["engine"]


@pytest.mark.parametrize(("body", "message"), [
    ({"x": {"image": "i"}}, "targets.x: set 'port'"),
    ({"x": {"imgae": "i"}}, "targets.x: unknown keys ['imgae']"),
    ({"x": {"image": "i", "port": 8000, "gpus": "some"}}, "gpus must be 'all'"),
    ({"x": {"kind": "docker", "port": 1}}, "a docker target needs 'image'"),
    ({"x y": {"url": "http://h"}}, "a target name may hold only"),
    ({"x": {"url": "http://h", "startup_timeout": "soon"}}, "startup_timeout"),
])
def test_bad_declarations_name_file_and_key(body: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=f"llmbench.yaml: .*{re.escape(message)}"):
        parse_targets(body, "llmbench.yaml")


def test_commits_with_and_without_labels() -> None:
    assert parse_commits("a1b2,c3d4") == [("a1b2", "a1b2"), ("c3d4", "c3d4")]
    assert parse_commits("baseline=a1b2, agent=c3d4") == [("baseline", "a1b2"), ("agent", "c3d4")]
    with pytest.raises(ConfigError, match="--llmbench-commits: 'x='"):
        parse_commits("x=")


def test_models_bind_to_targets_and_templates_expand_per_commit() -> None:
    config = parse_targets(DECLARED, "f")
    models = [ModelSpec.parse("vllm:meta-llama/Llama-3.1-8B@engine"),
              ModelSpec.parse("vllm:meta-llama/Llama-3.1-8B@baseline"),
              ModelSpec.parse("vertex:claude-sonnet-4@20250514")]
    resolved = binding.resolve(models, config, parse_commits("human=abc,agent=def"), "f")
    assert [m.name for m in resolved] == [
        "vllm:meta-llama/Llama-3.1-8B@human", "vllm:meta-llama/Llama-3.1-8B@agent",
        "vllm:meta-llama/Llama-3.1-8B@baseline", "vertex:claude-sonnet-4@20250514"]
    assert resolved[-1].target is None  # "@20250514" is a Vertex version, not a target
    agent = config.targets["agent"]
    assert (agent.fill(agent.image or ""), agent.fill(agent.env["BUILD"])) == (
        "myorg/vllm-bench:def", "def")
    assert [t.name for t in binding.used_targets(resolved, config)] == ["human", "agent",
                                                                        "baseline"]


def test_template_without_commits_is_an_error() -> None:
    config = parse_targets(DECLARED, "f")
    with pytest.raises(ConfigError, match="target engine is a template.*--llmbench-commits"):
        binding.resolve([ModelSpec.parse("vllm:m@engine")], config, [], "f")


def test_bound_models_send_requests_to_their_target() -> None:
    endpoints = {"b": {"url": "http://127.0.0.1:9000"}}
    models = [ModelSpec(provider=p, model="m", target="b") for p in ("vllm", "sim", "bedrock")]
    bound = binding.bind(models + [ModelSpec.parse("openai:gpt-4o")], endpoints)
    assert bound[0].settings == {"base_url": "http://127.0.0.1:9000/v1"}
    assert bound[1].settings == {"base_url": "http://127.0.0.1:9000"}
    assert bound[2].settings == {"endpoint_url": "http://127.0.0.1:9000"}
    assert bound[3].settings == {}


def test_baseline_target_choice() -> None:
    assert binding.baseline_target(["agent", "baseline"], None) == "baseline"
    assert binding.baseline_target(["a", "b"], None) == "a"
    assert binding.baseline_target(["a", "b"], "b") == "b"
    with pytest.raises(ConfigError, match="--llmbench-baseline-target: 'c'"):
        binding.baseline_target(["a", "b"], "c")


def test_speedup_columns_against_the_baseline_row() -> None:
    rows = [{"suite": "s", "model": "vllm:m@agent", "target": "agent", "latency_p50": 0.5,
             "ttft_p50": 0.1, "output_tps": 200.0},
            {"suite": "s", "model": "vllm:m@baseline", "target": "baseline", "latency_p50": 1.0,
             "ttft_p50": 0.3, "output_tps": 100.0},
            {"suite": "s", "model": "openai:x", "target": None, "latency_p50": 1.0}]
    out = add_target_columns(rows, {"agent": {"commit": "def"}, "baseline": {"commit": "abc"}},
                             "baseline")
    assert (out[0]["speedup"], out[0]["ttft_speedup"], out[0]["tps_ratio"]) == (2.0, 3.0, 2.0)
    assert out[0]["commit"] == "def" and out[1]["speedup"] == 1.0
    assert out[2]["speedup"] is None and out[2]["commit"] is None


def test_docker_run_settings() -> None:
    config = parse_targets({"t": {"image": "img:{commit}", "commit": "x", "port": 8001,
                                  "network": "bridge", "volumes": ["/models:/models:ro"],
                                  "command": ["serve", "--port", "{port}"], "shm_size": "8g",
                                  "gpus": 2}}, "f")
    kwargs = DockerTarget(config.targets["t"], "run1").run_kwargs(8001)
    assert kwargs["command"] == ["serve", "--port", "8001"] and kwargs["ports"] == {"8001": 8001}
    assert kwargs["network_mode"] == "bridge" and kwargs["shm_size"] == "8g"
    assert kwargs["labels"]["io.llmbench.run"] == "run1" and kwargs["name"] == "llmbench-run1-t"
    assert kwargs["device_requests"][0]["Count"] == 2
    assert device_requests(["0", "3"])[0]["DeviceIDs"] == ["0", "3"]
    assert device_requests("all")[0]["Count"] == -1


def _docker_missing(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DOCKER_HOST", f"unix://{pytester.path / 'no-docker.sock'}")
    monkeypatch.delenv("LLMBENCH_REQUIRE_DOCKER", raising=False)  # CI sets it
    write_suite(pytester.path, rows=[{"id": "a", "question": "1", "answer": "1"}])
    write_config(pytester.path, {"engine": {"image": "vllm/vllm-openai", "port": 8000}})


def test_docker_missing_skips_its_items(pytester: pytest.Pytester,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    _docker_missing(pytester, monkeypatch)
    result = pytester.runpytest_subprocess("-rs", "arith.yaml", "--llmbench-models",
                                           "sim:default@engine,sim:default")
    result.assert_outcomes(passed=1, skipped=1)
    result.stdout.fnmatch_lines(["*SKIPPED*target engine: no Docker engine*"])


def test_docker_missing_is_an_error_when_required(pytester: pytest.Pytester,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    _docker_missing(pytester, monkeypatch)
    result = pytester.runpytest_subprocess("arith.yaml", "--llmbench-models", "sim:default@engine",
                                           "--llmbench-require-docker")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--llmbench-require-docker: target engine: no Docker engine*"])


def test_secret_flags_are_not_recorded() -> None:
    from pytest_llmbench.targets.process import redact_args

    assert redact_args(["vllm", "serve", "m", "--api-key", "sk-1", "--hf-token=hf_2", "--port",
                        "8000"]) == ["vllm", "serve", "m", "--api-key", "***", "--hf-token=***",
                                     "--port", "8000"]


def test_each_commit_has_its_own_baseline() -> None:
    """Two templates x two commits: each candidate's baseline is its commit's baseline; a
    target whose commit has no baseline falls back to the first baseline that is a target."""
    config = parse_targets({"baseline": {"image": "e:{commit}", "port": "auto"},
                            "candidate": {"image": "e:{commit}", "port": "auto",
                                          "env": {"FLAG": "1"}}}, "f")
    models = [ModelSpec("vllm", "m@baseline"), ModelSpec("vllm", "m@candidate")]
    resolved = binding.resolve(models, config, parse_commits("old=a1,new=b2"), "f")
    specs = binding.used_targets(resolved, config)
    assert [s.name for s in specs] == ["baseline-old", "baseline-new", "candidate-old",
                                       "candidate-new"]
    assert binding.baselines(specs, None) == {
        "baseline-old": "baseline-old", "baseline-new": "baseline-new",
        "candidate-old": "baseline-old", "candidate-new": "baseline-new"}
    explicit = parse_targets({"a-base": {"url": "http://x", "commit": "a"},
                              "a-cand": {"url": "http://y", "commit": "a"},
                              "b-base": {"url": "http://z", "commit": "b"},
                              "b-cand": {"url": "http://w", "commit": "b"},
                              "other": {"url": "http://v"}}, "f").targets
    assert binding.baselines(list(explicit.values()), "a-base,b-base") == {
        "a-base": "a-base", "a-cand": "a-base", "b-base": "b-base", "b-cand": "b-base",
        "other": "a-base"}
    with pytest.raises(ConfigError, match="--llmbench-baseline-target: 'c-base'"):
        binding.baselines(list(explicit.values()), "a-base,c-base")


def test_speedup_columns_per_commit_baseline() -> None:
    rows = [{"suite": "s", "model": f"vllm:m@{t}", "target": t, "latency_p50": p50}
            for t, p50 in (("base-a", 1.0), ("cand-a", 0.5), ("base-b", 0.2), ("cand-b", 0.4))]
    out = add_target_columns(rows, {r["target"]: {} for r in rows},
                             {"base-a": "base-a", "cand-a": "base-a", "base-b": "base-b",
                              "cand-b": "base-b"})
    assert [r["speedup"] for r in out] == [1.0, 2.0, 1.0, 0.5]
