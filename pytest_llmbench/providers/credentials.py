"""Which credentials a model lacks, checked once before the run.

A missing key would otherwise fail every item of the model with the same error; the
plugin asks this module about each model at configure time and stops with one line per
model, as for an unknown provider. Only the built-in key-based providers are checked:
cloud credential chains (Bedrock, Vertex) and user-registered providers decide for
themselves when they are built.
"""

from __future__ import annotations

import os

from pytest_llmbench.config import ModelSpec
from pytest_llmbench.providers.hosts import HOSTS


def _has(spec: ModelSpec, setting: str, *env_vars: str) -> bool:
    return bool(spec.settings.get(setting)) or any(os.environ.get(v) for v in env_vars)


def missing_credentials(spec: ModelSpec) -> str | None:
    """``openai:gpt-4o-mini: set OPENAI_API_KEY (or api_key in llmbench.yaml)``, or None."""
    if spec.target:  # served by a target the run starts: no provider key involved
        return None
    provider = spec.provider
    if provider == "anthropic":
        if _has(spec, "api_key", "ANTHROPIC_API_KEY") or _has(spec, "auth_token",
                                                              "ANTHROPIC_AUTH_TOKEN"):
            return None
        return f"{spec.name}: set ANTHROPIC_API_KEY (or api_key in llmbench.yaml)"
    if provider == "azure":
        if _has(spec, "api_key", "AZURE_OPENAI_API_KEY") or _has(spec, "azure_ad_token",
                                                                 "AZURE_OPENAI_AD_TOKEN"):
            return None
        return f"{spec.name}: set AZURE_OPENAI_API_KEY (or api_key in llmbench.yaml)"
    host = HOSTS.get(provider)
    if host is None or host.local or host.key_env is None:
        return None
    if _has(spec, "api_key", host.key_env):
        return None
    return f"{spec.name}: set {host.key_env} (or api_key in llmbench.yaml)"


__all__ = ["missing_credentials"]
