"""Warming a provider pays its SDK's first-use costs before the first call (in the engine's
process, while pytest starts up), so they do not stall the loop while the first calls stream."""

from __future__ import annotations

import subprocess
import sys

import pytest

from pytest_llmbench.providers import base, bedrock_converse

FIRST_USE = """
import sys
from pytest_llmbench.providers.base import warm
from pytest_llmbench.calls import pricing
warm({name!r})
pricing.warm([{name!r}])
lazy = {lazy!r}
print(",".join(module for module in lazy if module not in sys.modules))
"""


@pytest.mark.parametrize(("name", "lazy"), [
    ("openai", ["openai.resources.chat.completions", "anyio._backends._asyncio", "genai_prices.data"]),
    ("anthropic", ["anthropic.resources.messages", "anyio._backends._asyncio", "genai_prices.data"]),
    ("bedrock", ["genai_prices.data"]),
])
def test_warm_loads_what_the_first_call_would(name: str, lazy: list[str]) -> None:
    """Each of these modules was loaded inside the first call before (the price table alone
    stalled the loop ~0.17 s); a fresh interpreter has them all after warming, no request sent."""
    done = subprocess.run([sys.executable, "-c", FIRST_USE.format(name=name, lazy=lazy)],
                          capture_output=True, text=True, timeout=120, check=True)
    assert done.stdout.strip() == "", f"not loaded by warming {name}: {done.stdout}"


def test_a_provider_without_prices_does_not_load_the_table() -> None:
    code = ("import sys; from pytest_llmbench.calls import pricing; pricing.warm(['vllm', 'sim']);"
            "print('genai_prices' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=60, check=True)
    assert done.stdout.strip() == "False"


class _Warms:
    warmed = 0

    @staticmethod
    def warm() -> None:
        _Warms.warmed += 1


class _BreaksWhenWarmed:
    @staticmethod
    def warm() -> None:
        raise RuntimeError("no SDK here")


def test_a_registered_providers_warm_hook_is_called_and_its_failure_ignored(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(base._REGISTRY, "warms", _Warms)
    monkeypatch.setitem(base._REGISTRY, "breaks", _BreaksWhenWarmed)
    base.warm("warms")
    base.warm("breaks")  # best effort: the first call reports what is wrong
    base.warm("no-such-provider")
    assert _Warms.warmed == 1


def test_bedrock_sessions_share_the_parsed_service_model() -> None:
    """Warming parses bedrock-runtime's service model once; the run's own session (other
    credentials, other profile) reuses it rather than parsing it again inside the first call."""
    bedrock_converse.BedrockProvider.warm()
    run = bedrock_converse._session(aws_access_key_id="AKIDRUN", aws_secret_access_key="run")
    loader = run._session.get_component("data_loader")
    assert loader is bedrock_converse._data_loader()
    assert run.get_credentials().access_key == "AKIDRUN"
    assert any("bedrock-runtime" in str(key) for key in loader._cache)
