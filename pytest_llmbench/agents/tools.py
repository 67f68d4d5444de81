"""The agent's fixed tool set: run a shell command, read, write and edit a file, finish.

Each tool is a small function over a :class:`Sandbox`; its result is the text the model
sees next. A malformed call (arguments that are not a JSON object, a missing or mistyped
argument, an unknown tool) is answered with an error the model can read, and counted.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from pytest_llmbench.agents.sandbox import Sandbox

READ_LIMIT = 20_000

SPECS: list[dict[str, Any]] = [
    {"name": "run_command",
     "description": "Run a bash command in the work directory of the sandbox and return its "
                    "combined output (truncated) and exit code. Each call is a fresh shell.",
     "parameters": {"type": "object", "properties": {
         "command": {"type": "string", "description": "the bash command line"}},
         "required": ["command"]}},
    {"name": "read_file",
     "description": "Return the text of a file (a path relative to the work directory).",
     "parameters": {"type": "object", "properties": {"path": {"type": "string"}},
                    "required": ["path"]}},
    {"name": "write_file",
     "description": "Create or overwrite a file with the given content.",
     "parameters": {"type": "object", "properties": {"path": {"type": "string"},
                                                     "content": {"type": "string"}},
                    "required": ["path", "content"]}},
    {"name": "edit_file",
     "description": "Replace the exact text `old` (which must occur exactly once) with "
                    "`new` in a file.",
     "parameters": {"type": "object", "properties": {"path": {"type": "string"},
                                                     "old": {"type": "string"},
                                                     "new": {"type": "string"}},
                    "required": ["path", "old", "new"]}},
    {"name": "finish",
     "description": "Call when the task is done (or cannot be done); ends the session.",
     "parameters": {"type": "object", "properties": {"summary": {"type": "string"}},
                    "required": []}},
]
NAMES = tuple(spec["name"] for spec in SPECS)


@dataclass
class ToolCall:
    """One call as the model made it; ``arguments`` is the raw JSON text."""

    id: str
    name: str
    arguments: str

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "arguments": self.arguments}


@dataclass
class ToolResult:
    text: str
    error: bool = False
    malformed: bool = False
    finished: bool = False
    duration_s: float = 0.0


class BadArguments(ValueError):
    pass


def parse_arguments(call: ToolCall) -> dict[str, Any]:
    try:
        value = json.loads(call.arguments or "{}")
    except ValueError as exc:
        raise BadArguments(f"arguments are not valid JSON ({exc})") from None
    if not isinstance(value, dict):
        raise BadArguments("arguments must be a JSON object")
    spec = next(s for s in SPECS if s["name"] == call.name)
    props = spec["parameters"]["properties"]
    for name in spec["parameters"]["required"]:
        if name not in value:
            raise BadArguments(f"missing argument {name!r}")
    for name, item in value.items():
        if name not in props:
            raise BadArguments(f"unknown argument {name!r}")
        if not isinstance(item, str):
            raise BadArguments(f"argument {name!r} must be a string")
    return value


def run_tool(call: ToolCall, sandbox: Sandbox, command_timeout_s: float,
             output_chars: int) -> ToolResult:
    """Run one call; a tool's failure is a result for the model, never an exception
    (a ``SandboxFault`` - the sandbox itself broke - is the exception)."""
    if call.name not in NAMES:
        return ToolResult(f"error: unknown tool {call.name!r} (tools: {', '.join(NAMES)})",
                          error=True, malformed=True)
    try:
        args = parse_arguments(call)
    except BadArguments as exc:
        return ToolResult(f"error: {call.name}: {exc}", error=True, malformed=True)
    if call.name == "finish":
        return ToolResult("finished", finished=True)
    if call.name == "run_command":
        result = sandbox.exec(args["command"], command_timeout_s, output_chars)
        return ToolResult(result.text(), error=result.exit_code != 0,
                          duration_s=result.duration_s)
    path = args["path"]
    try:
        if call.name == "read_file":
            data = sandbox.read_file(path).decode("utf-8", "replace")
            if len(data) > READ_LIMIT:
                data = data[:READ_LIMIT] + f"\n... [{len(data) - READ_LIMIT} characters cut]"
            return ToolResult(data)
        if call.name == "write_file":
            sandbox.write_file(path, args["content"].encode())
            return ToolResult(f"wrote {len(args['content'])} characters to {path}")
        text = sandbox.read_file(path).decode("utf-8")
        count = text.count(args["old"])
        if count != 1 or not args["old"]:
            return ToolResult(f"error: edit_file: `old` occurs {count} times in {path} "
                              "(it must occur exactly once)", error=True)
        sandbox.write_file(path, text.replace(args["old"], args["new"]).encode())
        return ToolResult(f"edited {path}")
    except (OSError, UnicodeDecodeError) as exc:
        return ToolResult(f"error: {call.name}: {exc}", error=True)
