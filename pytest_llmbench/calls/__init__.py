"""The call engine: event loop, prefetch, retries, rate limits, budget, pricing, cache and replay."""
