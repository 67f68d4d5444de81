"""The agent loop: ask the model, run the tools it calls, repeat until it finishes.

Short and linear on purpose (mini-swe-agent's shape): a message history that is also the
transcript, the model's tool calls run in order, limits checked before every call. It
stops at ``finish`` or at the turn, token, cost or time limit (the stop reason says
which); a provider error or a broken sandbox ends it with that error kept, and the run's
``--llmbench-budget`` refusing the next call ends it with stop reason ``budget``.
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from pytest_llmbench.agents.sandbox import Sandbox, SandboxFault
from pytest_llmbench.agents.task import Limits
from pytest_llmbench.agents.tools import ToolCall, run_tool
from pytest_llmbench.agents.wire import ToolModel, Turn
from pytest_llmbench.calls.budget import BudgetExhausted
from pytest_llmbench.errors import ProviderError

SYSTEM = ("You are an autonomous software agent working in a sandbox. Your work directory "
          "is {workdir}. Use the tools to inspect and change files and to run commands; "
          "each run_command is a fresh bash shell in the work directory. When the task is "
          "done, call finish. Nobody will answer questions: act on your own.")
NUDGE = "Continue with the task using the tools, and call finish when it is done."
STOP_REASONS = ("finish", "turns", "tokens", "cost", "time", "budget", "error")


@dataclass
class LoopResult:
    stop_reason: str = "turns"
    turns: int | None = 0  # None: an external agent (its turns are not visible)
    model_turns: list[Turn] = field(default_factory=list)
    tool_calls: Counter[str] = field(default_factory=Counter)
    tool_errors: int = 0
    malformed_calls: int = 0
    model_time_s: float = 0.0
    tool_time_s: float = 0.0
    wall_s: float = 0.0
    messages: list[dict[str, Any]] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)  # per turn: times, usage
    error: ProviderError | SandboxFault | BudgetExhausted | None = None
    summary: str | None = None

    @property
    def tokens(self) -> int:
        return sum((t.completion.input_tokens or 0) + (t.completion.output_tokens or 0)
                   for t in self.model_turns)

    @property
    def cost_usd(self) -> float | None:
        costs = [t.completion.cost_usd for t in self.model_turns]
        return None if any(c is None for c in costs) else sum(costs)  # type: ignore[arg-type]


def _limit_hit(result: LoopResult, limits: Limits, started: float) -> str | None:
    if limits.turns is not None and (result.turns or 0) >= limits.turns:
        return "turns"
    if limits.tokens is not None and result.tokens >= limits.tokens:
        return "tokens"
    cost = result.cost_usd
    if limits.cost_usd is not None and cost is not None and cost >= limits.cost_usd:
        return "cost"
    if limits.time_s is not None and time.perf_counter() - started >= limits.time_s:
        return "time"
    return None


def run_loop(model: ToolModel, sandbox: Sandbox, instruction: str, limits: Limits,
             command_timeout_s: float = 60.0, output_chars: int = 10_000) -> LoopResult:
    started = time.perf_counter()
    result = LoopResult()
    messages = result.messages
    messages.append({"role": "system", "content": SYSTEM.format(workdir=sandbox.workdir)})
    messages.append({"role": "user", "content": instruction})
    try:
        while True:
            hit = _limit_hit(result, limits, started)
            if hit is not None:
                result.stop_reason = hit
                break
            t0 = time.perf_counter()
            turn = model.step(messages)
            model_s = time.perf_counter() - t0
            result.model_time_s += model_s
            result.turns = (result.turns or 0) + 1
            result.model_turns.append(turn)
            messages.append({"role": "assistant", "content": turn.text,
                             "tool_calls": [c.to_dict() for c in turn.tool_calls]})
            event: dict[str, Any] = {"turn": result.turns, "model_s": round(model_s, 4),
                                     "input_tokens": turn.completion.input_tokens,
                                     "output_tokens": turn.completion.output_tokens,
                                     "tools": []}
            result.events.append(event)
            if not turn.tool_calls:
                messages.append({"role": "user", "content": NUDGE})
                continue
            if _run_calls(turn.tool_calls, sandbox, result, event, started, limits,
                          command_timeout_s, output_chars):
                result.stop_reason = "finish"
                break
    except BudgetExhausted as exc:
        result.error = exc
        result.stop_reason = "budget"
    except (ProviderError, SandboxFault) as exc:
        result.error = exc
        result.stop_reason = "error"
    result.wall_s = time.perf_counter() - started
    return result


def _run_calls(calls: list[ToolCall], sandbox: Sandbox, result: LoopResult,
               event: dict[str, Any], started: float, limits: Limits,
               command_timeout_s: float, output_chars: int) -> bool:
    """Run one turn's calls in order; True once ``finish`` was called (later calls of the
    same turn are answered as skipped, so every call has its result)."""
    finished = False
    for call in calls:
        result.tool_calls[call.name] += 1
        if finished:
            text, error = "skipped: finish was called earlier in this turn", True
            messages_result(result, call, text, error)
            continue
        remaining = (limits.time_s - (time.perf_counter() - started)
                     if limits.time_s is not None else command_timeout_s)
        t0 = time.perf_counter()
        outcome = run_tool(call, sandbox, max(1.0, min(command_timeout_s, remaining)),
                           output_chars)
        took = time.perf_counter() - t0
        result.tool_time_s += took
        result.tool_errors += int(outcome.error)
        result.malformed_calls += int(outcome.malformed)
        event["tools"].append({"name": call.name, "s": round(took, 4), "error": outcome.error})
        if outcome.finished:
            finished = True
            try:
                import json  # noqa: PLC0415

                result.summary = str(json.loads(call.arguments or "{}").get("summary") or "")
            except (ValueError, AttributeError):
                result.summary = None
        messages_result(result, call, outcome.text, outcome.error)
    return finished


def messages_result(result: LoopResult, call: ToolCall, text: str, error: bool) -> None:
    result.messages.append({"role": "tool", "tool_call_id": call.id, "name": call.name,
                            "content": text, "error": error})
