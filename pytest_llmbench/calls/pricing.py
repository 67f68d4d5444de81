"""What one call cost, in USD: a per-model ``price`` from the config, else genai-prices.

Costs come from the server's token usage (cached input priced apart where the
server says how much was cached). A model without a known price costs
``None`` (reported "unknown"), never 0: the simulator, in-process models and
local servers have no price unless the config gives one. The price table is
the ``genai-prices`` package's bundled snapshot; it is never updated over the
network.

Config shape (per model in ``llmbench.yaml``)::

    price: {input_per_mtok: 0.15, output_per_mtok: 0.6,
            cache_read_per_mtok: 0.075, cache_write_per_mtok: 0.1875}   # USD per 1M tokens
    price_as: openai:gpt-4o-mini     # or: price this model as another one in genai-prices
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pytest_llmbench.config import ModelSpec

if TYPE_CHECKING:
    from pytest_llmbench.providers.base import Completion


GENAI_PROVIDERS: dict[str, str] = {
    "openai": "openai", "azure": "azure", "anthropic": "anthropic", "vertex": "google",
    "bedrock": "aws", "groq": "groq", "together": "together", "fireworks": "fireworks",
    "openrouter": "openrouter", "cerebras": "cerebras", "databricks": "databricks",
    "mistral": "mistral",
}
"""Our provider names -> genai-prices provider ids. Providers not listed (local servers,
``sim``, ``inproc``, deepinfra ...) have no price unless the config gives one."""


@dataclass(frozen=True)
class TokenUsage:
    """Token counts as priced: ``input`` includes the cached reads and writes."""

    input: int
    output: int
    cache_read: int = 0
    cache_write: int = 0


def usage_of(input_tokens: int | None, output_tokens: int | None,
             raw: dict[str, Any] | None) -> TokenUsage | None:
    """Normalise the three usage conventions; None when the counts are unknown.

    OpenAI's ``prompt_tokens`` include ``prompt_tokens_details.cached_tokens``;
    Anthropic's ``input_tokens`` and Bedrock's ``inputTokens`` exclude cache reads
    and writes, which are reported beside them.
    """
    if input_tokens is None or output_tokens is None:
        return None
    raw = raw or {}
    if "prompt_tokens" in raw:
        details = raw.get("prompt_tokens_details") or {}
        cached = int(details.get("cached_tokens") or 0) if isinstance(details, dict) else 0
        return TokenUsage(input_tokens, output_tokens, cache_read=min(cached, input_tokens))
    read = int(raw.get("cache_read_input_tokens") or raw.get("cacheReadInputTokens") or 0)
    write = int(raw.get("cache_creation_input_tokens") or raw.get("cacheWriteInputTokens") or 0)
    return TokenUsage(input_tokens + read + write, output_tokens, read, write)


def configured_cost(price: dict[str, Any], usage: TokenUsage) -> float:
    """USD for ``usage`` at a config ``price`` (cache prices default to the input price)."""
    per_in = float(price["input_per_mtok"])
    read = float(price.get("cache_read_per_mtok", per_in))
    write = float(price.get("cache_write_per_mtok", per_in))
    fresh = max(0, usage.input - usage.cache_read - usage.cache_write)
    total = (fresh * per_in + usage.cache_read * read + usage.cache_write * write
             + usage.output * float(price["output_per_mtok"]))
    return total / 1_000_000


_UNKNOWN: set[tuple[str, str]] = set()
"""Lookups that failed once, so an unknown model costs one table search per process."""


def warm(providers: Iterable[str]) -> None:
    """Load the price table now if any of ``providers`` is priced from it: loaded at the first
    answer, it would stall the engine's loop ~0.17 s while the first calls stream."""
    if any(name in GENAI_PROVIDERS for name in providers):
        with contextlib.suppress(Exception):  # best effort: the first priced call says what fails
            table_cost("openai", "gpt-4o-mini", TokenUsage(1, 1))


def table_cost(provider: str, model: str, usage: TokenUsage,
               context: dict[str, str] | None = None) -> float | None:
    """USD from the genai-prices table, or None when it does not know the model.
    ``context`` selects a price variant (``{"processing": "batch"}``)."""
    provider_id = GENAI_PROVIDERS.get(provider)
    if provider_id is None or (provider_id, model) in _UNKNOWN:
        return None
    from genai_prices import Usage, calc_price  # noqa: PLC0415 - 0.15 s import, only when pricing

    try:
        result = calc_price(Usage(input_tokens=usage.input, output_tokens=usage.output,
                                  cache_read_tokens=usage.cache_read,
                                  cache_write_tokens=usage.cache_write),
                            model_ref=model, provider_id=provider_id, price_context=context)
    except LookupError:
        _UNKNOWN.add((provider_id, model))
        return None
    return round(float(result.total_price), 12)


def cost_usd(provider: str, model: str, settings: dict[str, Any], input_tokens: int | None,
             output_tokens: int | None, raw_usage: dict[str, Any] | None,
             reported: float | None = None) -> float | None:
    """The cost of one call: config ``price``, else a cost the server reported (OpenRouter),
    else the genai-prices table (as ``price_as`` if set); None when unknown."""
    usage = usage_of(input_tokens, output_tokens, raw_usage)
    price = settings.get("price")
    if isinstance(price, dict):
        return configured_cost(price, usage) if usage is not None else None
    if reported is not None:
        return reported
    if usage is None:
        return None
    price_as = settings.get("price_as")
    if price_as:
        provider, _, model = str(price_as).partition(":")
    return table_cost(provider, model, usage)


def call_cost(spec: ModelSpec, completion: Completion) -> float | None:
    """The cost of one completed call of ``spec`` (priced by the model id sent to the API)."""
    return cost_usd(spec.provider, spec.api_model, spec.settings, completion.input_tokens,
                    completion.output_tokens, completion.raw_usage, reported=completion.cost_usd)


BATCH_DISCOUNT = 0.5
"""Batch price / live price as OpenAI, Anthropic and Bedrock document it (50% off)."""


def batch_call_cost(spec: ModelSpec, completion: Completion) -> tuple[float | None, str | None]:
    """The cost of one batch answer and how it was priced: a ``batch_price`` from the
    config, else the table's batch price where it has one, else the live price (config or
    table) at the providers' documented 50% batch discount. (None, None) when unknown."""
    usage = usage_of(completion.input_tokens, completion.output_tokens, completion.raw_usage)
    if usage is None:
        return None, None
    settings = spec.settings
    batch_price = settings.get("batch_price")
    if isinstance(batch_price, dict):
        return configured_cost(batch_price, usage), "batch_price (config)"
    discount = f"x{BATCH_DISCOUNT:g}, the provider's documented batch discount"
    price = settings.get("price")
    if isinstance(price, dict):
        return configured_cost(price, usage) * BATCH_DISCOUNT, f"config price {discount}"
    provider, model = spec.provider, spec.api_model
    if settings.get("price_as"):
        provider, _, model = str(settings["price_as"]).partition(":")
    live = table_cost(provider, model, usage)
    if live is None:
        return None, None
    batch = table_cost(provider, model, usage, {"processing": "batch"})
    if batch is not None and batch < live:
        return batch, "genai-prices batch price"
    return round(live * BATCH_DISCOUNT, 12), f"genai-prices price {discount}"
