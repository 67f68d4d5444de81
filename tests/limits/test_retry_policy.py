"""RetryPolicy decisions and reading retry hints (plain functions, no server)."""

from __future__ import annotations

import email.utils
import time

import pytest

from pytest_llmbench.calls.retry import RetryPolicy
from pytest_llmbench.config import ModelSpec
from pytest_llmbench.errors import ConfigError, ProviderError
from pytest_llmbench.providers.retry_after import parse_retry_after


def _error(kind: str, retry_after: float | None = None) -> ProviderError:
    return ProviderError("x", model="m:x", kind=kind, retry_after=retry_after)


@pytest.mark.parametrize("kind", ["rate_limited", "server_error", "timeout", "connection"])
def test_transient_kinds_are_retried(kind: str) -> None:
    assert RetryPolicy().delay(_error(kind), 1) is not None


@pytest.mark.parametrize("kind", ["auth", "not_found", "bad_request", "content_filtered",
                                  "missing_metric", "other"])
def test_final_kinds_are_not(kind: str) -> None:
    assert RetryPolicy().delay(_error(kind), 1) is None


def test_the_maximum_ends_retries() -> None:
    policy = RetryPolicy(max_retries=2)
    assert policy.delay(_error("server_error"), 2) is not None
    assert policy.delay(_error("server_error"), 3) is None
    assert RetryPolicy(max_retries=0).delay(_error("server_error"), 1) is None


def test_backoff_is_exponential_with_full_jitter_and_capped() -> None:
    policy = RetryPolicy(max_retries=10, base_delay_s=0.5, max_wait_s=3.0)
    top = [policy.delay(_error("timeout"), n, rand=lambda: 1.0) for n in range(1, 6)]
    assert top == [0.5, 1.0, 2.0, 3.0, 3.0]
    assert policy.delay(_error("timeout"), 3, rand=lambda: 0.0) == 0.0
    assert policy.delay(_error("timeout"), 3, rand=lambda: 0.25) == 0.5


def test_retry_after_wins_over_backoff_but_is_capped() -> None:
    policy = RetryPolicy(max_wait_s=10.0)
    assert policy.delay(_error("rate_limited", 2.5), 1) == 2.5
    assert policy.delay(_error("rate_limited", 60.0), 1) == 10.0


def test_model_settings_override_and_are_checked() -> None:
    spec = ModelSpec("openai", "gpt-4o", settings={"max_retries": 1, "retry_max_wait": 2})
    assert RetryPolicy().for_model(spec) == RetryPolicy(max_retries=1, max_wait_s=2.0)
    bad = ModelSpec("openai", "gpt-4o", settings={"max_retries": -1})
    with pytest.raises(ConfigError, match=r"model openai:gpt-4o: max_retries must be a number >= 0"):
        RetryPolicy().for_model(bad)


@pytest.mark.parametrize(("headers", "seconds"), [
    ({"retry-after-ms": "250", "retry-after": "1"}, 0.25),
    ({"Retry-After": "3"}, 3.0),
    ({"x-amz-retry-after": "1500"}, 1.5),
    ({"retry-after": "soon"}, None),
    ({}, None),
])
def test_parse_retry_after(headers: dict[str, str], seconds: float | None) -> None:
    assert parse_retry_after(headers) == seconds


def test_parse_retry_after_http_date() -> None:
    when = email.utils.formatdate(time.time() + 30, usegmt=True)
    assert parse_retry_after({"retry-after": when}) == pytest.approx(30, abs=2)
