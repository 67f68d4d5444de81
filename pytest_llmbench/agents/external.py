"""An external agent: a command run inside the sandbox instead of our tool loop.

``agent: {command: "my-agent --task \\"$LLMBENCH_INSTRUCTION_FILE\\""}`` in a task suite
runs the command in the task's sandbox, in the work directory, with the instruction in
``$LLMBENCH_INSTRUCTION`` and in the file ``$LLMBENCH_INSTRUCTION_FILE``; ``env:`` adds
variables (never the harness's credentials: pass what the agent needs explicitly). The
command's time is the task's ``time_s`` limit, its output is capped, and the check runs
after it exits as for our own agent. The stop reason is ``exited`` (exit code kept) or
``time``; turns are not visible from outside (None). With ``proxy: openai`` (or
``anthropic``) the agent gets ``OPENAI_BASE_URL`` / ``OPENAI_API_KEY`` (or the Anthropic
pair) pointing at a :class:`RecordingProxy` with a placeholder key: its calls, tokens and
cost are then recorded like ours (the sandbox's network is on for it). Without the proxy
its calls are absent, not zero.
"""

from __future__ import annotations

import os
import shlex
import subprocess
from collections.abc import Callable
from typing import Any

from pytest_llmbench.agents.loop import LoopResult
from pytest_llmbench.agents.proxy import PLACEHOLDER_KEY, RecordingProxy
from pytest_llmbench.agents.task import Task, TaskError
from pytest_llmbench.agents.wire import Turn
from pytest_llmbench.calls.pricing import call_cost
from pytest_llmbench.calls.retry import RetryPolicy
from pytest_llmbench.config import ModelSpec
from pytest_llmbench.providers.base import Completion

INSTRUCTION_FILE = ".llmbench_instruction.md"
OUTPUT_CHARS = 20_000


def external_runner(agent: dict[str, Any], model: ModelSpec, context: dict[str, Any],
                    retry: RetryPolicy, timeout_s: float
                    ) -> Callable[[Any, Task], tuple[LoopResult, str]]:
    command = str(agent["command"])
    env = {str(k): str(v) for k, v in (agent.get("env") or {}).items()}

    wire = agent.get("proxy")
    if wire not in (None, "openai", "anthropic"):
        raise TaskError(f"agent.proxy: {wire!r} is not one of openai, anthropic")

    def run(box: Any, task: Task) -> tuple[LoopResult, str]:
        box.write_file(INSTRUCTION_FILE, task.instruction.encode())
        exports = {"LLMBENCH_INSTRUCTION": task.instruction,
                   "LLMBENCH_INSTRUCTION_FILE": f"{box.workdir}/{INSTRUCTION_FILE}",
                   "LLMBENCH_MODEL": model.api_model, **env}
        proxy = None
        if wire is not None:
            proxy = _proxy(str(wire), model, context, box)
            exports.update(_agent_env(str(wire), proxy.url))
        prefix = " ".join(f"export {k}={shlex.quote(v)};" for k, v in exports.items())
        limit = task.limits.time_s or 600.0
        try:
            done = box.exec(f"{prefix}\n(\n{command}\n)\nrc=$?; rm -f {INSTRUCTION_FILE}; "
                            "exit $rc", limit, OUTPUT_CHARS)
        finally:
            if proxy is not None:
                proxy.close()
        result = LoopResult(stop_reason="time" if done.timed_out else "exited",
                            wall_s=done.duration_s, tool_time_s=done.duration_s)
        result.turns = None  # not observable from outside
        result.events.append({"exit_code": done.exit_code, "timed_out": done.timed_out})
        for call in proxy.calls if proxy is not None else []:
            completion = Completion(text="", input_tokens=call.input_tokens,
                                    output_tokens=call.output_tokens, ttft_s=call.ttft_s,
                                    latency_s=call.latency_s,
                                    finish_reason=f"http {call.status}")
            completion.cost_usd = call_cost(model, completion)
            result.model_turns.append(Turn("", [], completion))
            result.model_time_s += call.latency_s
        return result, done.output

    return run


def _agent_env(wire: str, url: str) -> dict[str, str]:
    if wire == "anthropic":
        return {"ANTHROPIC_BASE_URL": url, "ANTHROPIC_API_KEY": PLACEHOLDER_KEY}
    return {"OPENAI_BASE_URL": url, "OPENAI_API_KEY": PLACEHOLDER_KEY}


def _proxy(wire: str, model: ModelSpec, context: dict[str, Any], box: Any) -> RecordingProxy:
    """A proxy to the model's real endpoint with the harness's key, listening where the
    sandbox can reach it (the Docker bridge's gateway, or loopback)."""
    settings = model.settings
    if model.provider == "sim":
        base = str(settings.get("base_url") or context.get("sim_url") or "")
        upstream = base.rstrip("/") + ("/v1" if wire == "openai" else "")
        auth = {"authorization": "Bearer sim"}
    elif wire == "anthropic":
        upstream = str(settings.get("base_url") or os.environ.get("ANTHROPIC_BASE_URL")
                       or "https://api.anthropic.com").rstrip("/")
        key = settings.get("api_key") or os.environ.get("ANTHROPIC_API_KEY") or ""
        auth = {"x-api-key": str(key), "anthropic-version": "2023-06-01"}
    else:
        from pytest_llmbench.providers.hosts import HOSTS, base_url_for  # noqa: PLC0415

        host = HOSTS.get(model.provider)
        upstream = str((base_url_for(model.provider, settings) if host else None)
                       or "https://api.openai.com/v1").rstrip("/")
        key = settings.get("api_key") or (os.environ.get(host.key_env) if host and host.key_env
                                          else None) or ""
        auth = {"authorization": f"Bearer {key}"}
    return RecordingProxy(upstream, auth, host=_reachable_host(box))


def _reachable_host(box: Any) -> str:
    if getattr(box, "name", "") != "docker" or box.notes.get("network") == "host":
        return "127.0.0.1"
    done = subprocess.run(["docker", "network", "inspect", "bridge", "-f",
                           "{{(index .IPAM.Config 0).Gateway}}"], capture_output=True,
                          text=True, check=False)
    return done.stdout.strip() or "172.17.0.1"
