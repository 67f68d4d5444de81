"""Local LLM API simulator: OpenAI (Chat Completions, Responses), Anthropic and Bedrock
wire formats on 127.0.0.1.

A standalone server; the plugin uses it only as an endpoint. Names load
lazily so importing this package (e.g. for ``start_sim_process``) does not
pull in uvicorn or starlette.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pytest_llmbench.sim.app import create_app
    from pytest_llmbench.sim.config import ModelProfile, SimConfig, SimConfigError, load_config
    from pytest_llmbench.sim.process import SimProcess, start_sim_process
    from pytest_llmbench.sim.server import SimServer

__all__ = [
    "ModelProfile",
    "SimConfig",
    "SimConfigError",
    "SimProcess",
    "SimServer",
    "create_app",
    "load_config",
    "start_sim_process",
]

_WHERE = {
    "create_app": "app",
    "ModelProfile": "config",
    "SimConfig": "config",
    "SimConfigError": "config",
    "load_config": "config",
    "SimProcess": "process",
    "start_sim_process": "process",
    "SimServer": "server",
}


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'pytest_llmbench.sim' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(f"pytest_llmbench.sim.{module}"), name)
    globals()[name] = value
    return value
