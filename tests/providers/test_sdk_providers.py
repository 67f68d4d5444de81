"""openai, azure, anthropic and bedrock through their real SDKs against the simulator."""

from __future__ import annotations

import time

import pytest

from pytest_llmbench.errors import ProviderError
from pytest_llmbench.sim import SimServer
from tests.providers.conftest import call, spec_for

PROVIDERS = ["openai", "openai-compatible", "vllm", "azure", "anthropic", "bedrock"]


@pytest.mark.parametrize("provider", PROVIDERS)
def test_streamed_call_is_measured(sim: SimServer, provider: str) -> None:
    completion = call(spec_for(provider, "default", sim), system="Answer in one word.")
    assert completion.text == "Paris"
    assert completion.ttft_s is not None and completion.ttft_s > 0
    assert completion.latency_s is not None and completion.latency_s >= completion.ttft_s
    assert completion.tokens_estimated is False
    assert completion.input_tokens and completion.input_tokens > 0
    assert completion.output_tokens == 1  # "Paris" is one simulator token
    assert completion.attempts == 1
    assert completion.finish_reason in ("stop", "end_turn")


@pytest.mark.parametrize("provider", ["openai", "anthropic", "bedrock"])
def test_itl_and_usage_match_the_stream(sim: SimServer, provider: str) -> None:
    # the simulator sends one token per chunk, so usage = chunks = gaps + 1
    completion = call(spec_for(provider, "fast", sim), prompt="Say something long.")
    assert completion.output_tokens and completion.output_tokens > 1
    assert len(completion.itl_s) == completion.output_tokens - 1
    assert all(gap >= 0 for gap in completion.itl_s)
    assert completion.output_tps and completion.output_tps > 0


@pytest.mark.parametrize("provider", ["openai", "anthropic", "bedrock"])
def test_max_tokens_caps_the_answer(sim: SimServer, provider: str) -> None:
    completion = call(spec_for(provider, "fast", sim), prompt="Say something long.", max_tokens=2)
    assert completion.output_tokens == 2
    assert completion.finish_reason in ("length", "max_tokens")


def test_usage_is_estimated_without_include_usage(sim: SimServer) -> None:
    completion = call(spec_for("openai", "default", sim, include_usage=False))
    assert completion.tokens_estimated is True
    assert completion.output_tokens == 1
    assert completion.text == "Paris"


FAULTS = [
    ("auth", "auth", {"openai": "AuthenticationError", "anthropic": "AuthenticationError",
                      "bedrock": "UnrecognizedClientException"}),
    ("not_found", "not_found", {"openai": "NotFoundError", "anthropic": "NotFoundError",
                                "bedrock": "ResourceNotFoundException"}),
    ("bad_request", "bad_request", {"openai": "BadRequestError", "anthropic": "BadRequestError",
                                    "bedrock": "ValidationException"}),
    ("rate_limit", "rate_limited", {"openai": "RateLimitError", "anthropic": "RateLimitError",
                                    "bedrock": "ThrottlingException"}),
    ("server_error", "server_error", {"openai": "InternalServerError",
                                      "anthropic": "InternalServerError",
                                      "bedrock": "InternalServerException"}),
    ("overloaded", "server_error", {"openai": "InternalServerError", "anthropic": "OverloadedError",
                                    "bedrock": "ServiceUnavailableException"}),
    ("stream_error", "server_error", {"openai": "APIError", "anthropic": "APIStatusError",
                                      "bedrock": "ModelStreamErrorException"}),
    ("drop", "connection", {"openai": "APIConnectionError", "anthropic": "RemoteProtocolError",
                            "bedrock": "ProtocolError"}),
]


@pytest.mark.parametrize("provider", ["openai", "anthropic", "bedrock"])
@pytest.mark.parametrize(("fault", "kind", "types"), FAULTS, ids=[f[0] for f in FAULTS])
def test_faults_are_classified(sim: SimServer, provider: str, fault: str, kind: str,
                               types: dict[str, str]) -> None:
    spec = spec_for(provider, "fast", sim, headers={"x-llmbench-fault": fault})
    with pytest.raises(ProviderError) as info:
        call(spec, prompt="Say something long.")
    error = info.value
    assert error.kind == kind
    assert error.error_type == types[provider]
    line = error.one_line()
    assert line.startswith(f"{provider}:fast - {types[provider]}: ")
    assert "\n" not in line and "sk-test" not in line


@pytest.mark.parametrize("provider", ["openai", "anthropic", "bedrock"])
def test_stall_is_a_timeout(sim: SimServer, provider: str) -> None:
    spec = spec_for(provider, "fast", sim, headers={"x-llmbench-fault": "stall"}, timeout=0.5)
    start = time.perf_counter()
    with pytest.raises(ProviderError) as info:
        call(spec, prompt="Say something long.")
    assert info.value.kind == "timeout"
    assert time.perf_counter() - start < 5


@pytest.mark.parametrize("provider", ["openai", "anthropic"])
def test_unknown_model_names_the_model(sim: SimServer, provider: str) -> None:
    with pytest.raises(ProviderError) as info:
        call(spec_for(provider, "no-such-model", sim))
    assert info.value.kind == "not_found"


def test_bedrock_unknown_model_reads_as_one_line(sim: SimServer) -> None:
    with pytest.raises(ProviderError) as info:
        call(spec_for("bedrock", "bad-model", sim))
    assert info.value.kind == "not_found"
    assert info.value.one_line().startswith("bedrock:bad-model - ResourceNotFoundException: ")


@pytest.mark.parametrize("provider", ["openai", "azure", "anthropic", "bedrock"])
def test_sdk_makes_one_attempt_and_exposes_retry_after(sim: SimServer, provider: str) -> None:
    # retries are the engine's: the SDK sends once and the 429's retry-after is on the error
    spec = spec_for(provider, "fast", sim, max_retries=5, headers={"x-llmbench-fault": "rate_limit"})
    before = _rate_limits(sim)
    with pytest.raises(ProviderError) as info:
        call(spec)
    assert info.value.kind == "rate_limited"
    assert info.value.retry_after == pytest.approx(1.0)  # the simulator's retry_after_s
    assert _rate_limits(sim) - before == 1


def _rate_limits(sim: SimServer) -> int:
    return sum(f["count"] for f in sim.metrics["faults"] if f["kind"] == "rate_limit")


@pytest.mark.parametrize("provider", ["openai", "anthropic", "bedrock"])
def test_sampling_params_reach_every_sdk(sim: SimServer, provider: str) -> None:
    # anthropic 2.16's messages.create() names no temperature/top_p: they must still be sent
    completion = call(spec_for(provider, "default", sim), temperature=0, top_p=1)
    assert completion.text == "Paris"


def test_params_the_sdk_does_not_name_go_in_the_body() -> None:
    from pytest_llmbench.providers.anthropic_messages import sdk_arguments

    def create(self: object, *, model: str, max_tokens: int, extra_body: object = None) -> None:
        """An SDK method that names only some parameters."""

    assert sdk_arguments(create, {"max_tokens": 5, "temperature": 0}) == {
        "max_tokens": 5, "extra_body": {"temperature": 0}}
    assert sdk_arguments(create, {"max_tokens": 5}) == {"max_tokens": 5}
