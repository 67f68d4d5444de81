"""Agentic tasks: task formats (markdown folders, Terminal-Bench, SWE-bench JSONL), the
tool loop over each provider's native tool calling, tools, sandboxes, external agents and
their recording proxy, and the fail-closed check. Plain Python: nothing here imports
pytest (the glue is ``plugin/agents.py``). See docs/agents.md."""
