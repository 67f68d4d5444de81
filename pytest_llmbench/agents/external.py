"""An external agent: a command run inside the sandbox instead of our tool loop.

``agent: {command: "my-agent --task \\"$LLMBENCH_INSTRUCTION_FILE\\""}`` in a task suite
runs the command in the task's sandbox, in the work directory, with the instruction in
``$LLMBENCH_INSTRUCTION`` and in the file ``$LLMBENCH_INSTRUCTION_FILE``; ``env:`` adds
variables (never the harness's credentials: pass what the agent needs explicitly). The
command's time is the task's ``time_s`` limit, its output is capped, and the check runs
after it exits as for our own agent. Its model calls are not visible to the harness, so
turns, calls and tokens are absent (None), not zero; the stop reason is ``exited``
(with its exit code kept) or ``time``.
"""

from __future__ import annotations

import shlex
from collections.abc import Callable
from typing import Any

from pytest_llmbench.agents.loop import LoopResult
from pytest_llmbench.agents.task import Task
from pytest_llmbench.calls.retry import RetryPolicy
from pytest_llmbench.config import ModelSpec

INSTRUCTION_FILE = ".llmbench_instruction.md"
OUTPUT_CHARS = 20_000


def external_runner(agent: dict[str, Any], model: ModelSpec, context: dict[str, Any],
                    retry: RetryPolicy, timeout_s: float
                    ) -> Callable[[Any, Task], tuple[LoopResult, str]]:
    command = str(agent["command"])
    env = {str(k): str(v) for k, v in (agent.get("env") or {}).items()}

    def run(box: Any, task: Task) -> tuple[LoopResult, str]:
        box.write_file(INSTRUCTION_FILE, task.instruction.encode())
        exports = {"LLMBENCH_INSTRUCTION": task.instruction,
                   "LLMBENCH_INSTRUCTION_FILE": f"{box.workdir}/{INSTRUCTION_FILE}",
                   "LLMBENCH_MODEL": model.api_model, **env}
        prefix = " ".join(f"export {k}={shlex.quote(v)};" for k, v in exports.items())
        limit = task.limits.time_s or 600.0
        done = box.exec(f"{prefix} {command}; rc=$?; rm -f {INSTRUCTION_FILE}; exit $rc",
                        limit, OUTPUT_CHARS)
        result = LoopResult(stop_reason="time" if done.timed_out else "exited",
                            wall_s=done.duration_s, tool_time_s=done.duration_s)
        result.turns = None  # not observable from outside
        result.events.append({"exit_code": done.exit_code, "timed_out": done.timed_out})
        return result, done.output

    return run
