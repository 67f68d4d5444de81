"""Error classification without a server, missing keys, and the engine's fail-once cache."""

from __future__ import annotations

import httpx
import pytest
from botocore.exceptions import ClientError, EndpointConnectionError

from pytest_llmbench.calls import engine as engine_module
from pytest_llmbench.calls.engine import Engine
from pytest_llmbench.config import ModelSpec
from pytest_llmbench.errors import ConfigError, ProviderError
from pytest_llmbench.providers.base import ChatRequest, get_factory
from pytest_llmbench.providers.errors_map import classify, content_filtered


def _client_error(code: str, message: str, status: int = 400) -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": message},
                        "ResponseMetadata": {"HTTPStatusCode": status}}, "ConverseStream")


@pytest.mark.parametrize(("code", "kind"), [
    ("ValidationException", "bad_request"), ("ResourceNotFoundException", "not_found"),
    ("AccessDeniedException", "auth"), ("ThrottlingException", "rate_limited"),
    ("throttlingException", "rate_limited"), ("ModelTimeoutException", "timeout"),
    ("ServiceUnavailableException", "server_error"), ("InternalServerException", "server_error"),
])
def test_botocore_codes(code: str, kind: str) -> None:
    assert classify(_client_error(code, "x"), "bedrock:m").kind == kind  # type: ignore[union-attr]


def test_bedrock_line_reads_as_in_the_issue() -> None:
    error = classify(_client_error("ValidationException", "Invalid model ID"), "bedrock:bad-model")
    assert str(error) == "bedrock:bad-model - ValidationException: Invalid model ID"


@pytest.mark.parametrize(("exc", "kind"), [
    (httpx.ReadTimeout("slow"), "timeout"),
    (httpx.RemoteProtocolError("peer closed"), "connection"),
    (EndpointConnectionError(endpoint_url="http://x"), "connection"),
    (ConnectionResetError("reset"), "connection"),
])
def test_transport_errors(exc: BaseException, kind: str) -> None:
    error = classify(exc, "m:x")
    assert isinstance(error, ProviderError)
    assert error.kind == kind
    assert error.error_type == type(exc).__name__


def test_content_filtered_kind() -> None:
    error = content_filtered("openai:gpt-4o", "finish_reason=content_filter")
    assert error.kind == "content_filtered"
    assert error.one_line().startswith("openai:gpt-4o - ContentFiltered: ")


@pytest.mark.parametrize(("provider", "env_var"), [
    ("openai", "OPENAI_API_KEY"), ("anthropic", "ANTHROPIC_API_KEY"), ("groq", "GROQ_API_KEY"),
    ("azure", "AZURE_OPENAI_API_KEY"), ("mistral", "MISTRAL_API_KEY"),
])
def test_missing_key_fails_fast_naming_the_env_var(provider: str, env_var: str,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    settings = {"azure_endpoint": "https://x.openai.azure.com", "api_version": "2024-10-21"}
    spec = ModelSpec(provider, "gpt-4o", settings=settings if provider == "azure" else {})
    with pytest.raises(ProviderError) as info:
        get_factory(provider)(spec, {})
    assert info.value.kind == "auth"
    assert str(info.value) == (f"{provider}:gpt-4o - MissingAPIKey: set {env_var} "
                               "(or api_key in llmbench.yaml)")


def test_key_from_env_is_used(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GROQ_API_KEY", "gsk-test")
    provider = get_factory("groq")(ModelSpec("groq", "llama"), {})
    assert provider.client.api_key == "gsk-test"  # type: ignore[attr-defined]
    assert str(provider.client.base_url).startswith("https://api.groq.com/openai/v1")  # type: ignore[attr-defined]


def test_local_servers_need_no_key() -> None:
    provider = get_factory("ollama")(ModelSpec("ollama", "llama3.2"), {})
    assert str(provider.client.base_url).startswith("http://localhost:11434/v1")  # type: ignore[attr-defined]


def test_bedrock_without_credentials(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.delenv(name)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    with pytest.raises(ProviderError) as info:
        get_factory("bedrock")(ModelSpec("bedrock", "m"), {})
    assert info.value.kind == "auth"
    assert "AWS_ACCESS_KEY_ID" in str(info.value)


def test_bedrock_without_region(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    monkeypatch.delenv("AWS_REGION")
    monkeypatch.delenv("AWS_DEFAULT_REGION", raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    with pytest.raises(ConfigError, match="AWS_REGION"):
        get_factory("bedrock")(ModelSpec("bedrock", "m"), {})


def test_engine_builds_a_failing_provider_once(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = []

    def counting(name: str):  # type: ignore[no-untyped-def]
        calls.append(name)
        return get_factory(name)

    monkeypatch.setattr(engine_module, "get_factory", counting)
    spec = ModelSpec("openai", "gpt-4o")
    engine = Engine(concurrency=2)
    try:
        futures = engine.submit_many([ChatRequest(spec, [{"role": "user", "content": "hi"}])] * 3)
        lines = set()
        for future in futures:
            with pytest.raises(ProviderError) as info:
                future.result(timeout=10)
            lines.add(str(info.value))
    finally:
        engine.close()
    assert lines == {"openai:gpt-4o - MissingAPIKey: set OPENAI_API_KEY (or api_key in llmbench.yaml)"}
    assert calls == ["openai"]
