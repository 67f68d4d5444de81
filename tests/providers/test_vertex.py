"""``vertex:``: Claude on Vertex through AsyncAnthropicVertex, against the simulator's
rawPredict / streamRawPredict routes with an access token (no Google auth is reached)."""

from __future__ import annotations

import pytest

from pytest_llmbench.config import ModelSpec
from pytest_llmbench.errors import ConfigError
from pytest_llmbench.sim import SimServer
from tests.providers.conftest import call

VERTEX_ENV = ("CLOUD_ML_REGION", "GOOGLE_CLOUD_LOCATION", "ANTHROPIC_VERTEX_PROJECT_ID",
              "GOOGLE_CLOUD_PROJECT", "ANTHROPIC_VERTEX_BASE_URL", "GOOGLE_APPLICATION_CREDENTIALS")


@pytest.fixture(autouse=True)
def _no_google_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in VERTEX_ENV:
        monkeypatch.delenv(name, raising=False)


def _spec(sim: SimServer, model: str = "fast", **settings: object) -> ModelSpec:
    return ModelSpec("vertex", model, settings={
        "base_url": sim.base_url + "/v1", "access_token": "ya29.test", "max_retries": 0,
        "region": "us-east5", "project_id": "my-project", **settings})


def test_streams_through_stream_raw_predict(sim: SimServer) -> None:
    completion = call(_spec(sim), system="Be brief.")
    assert completion.text == "Paris"
    assert completion.ttft_s is not None and not completion.tokens_estimated
    recent = sim.metrics["recent"][-1]
    assert recent["model"] == "fast" and recent["stream"] is True


def test_region_and_project_from_the_environment(sim: SimServer,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CLOUD_ML_REGION", "global")
    monkeypatch.setenv("GOOGLE_CLOUD_PROJECT", "env-project")
    completion = call(_spec(sim, region=None, project_id=None))
    assert completion.text == "Paris"


def test_missing_region_names_the_env_var(sim: SimServer) -> None:
    with pytest.raises(ConfigError, match="vertex:fast: set CLOUD_ML_REGION"):
        call(_spec(sim, region=None))


def test_unknown_model_is_not_found(sim: SimServer) -> None:
    from pytest_llmbench.errors import ProviderError

    with pytest.raises(ProviderError) as info:
        call(_spec(sim, model="claude-nope@20250101"))
    assert info.value.kind == "not_found"
