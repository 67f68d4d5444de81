"""Command-line options of the simulator, shared by ``llmbench sim`` and ``python -m``."""

from __future__ import annotations

import argparse
import sys

from pytest_llmbench.sim.config import SimConfigError


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``llmbench sim`` (and of ``python -m pytest_llmbench.sim``)."""
    parser.add_argument("--host", default="127.0.0.1",
                        help="interface to bind (default 127.0.0.1; keep it local)")
    parser.add_argument("--port", type=int, default=8000,
                        help="port to listen on; 0 picks a free one (default 8000)")
    parser.add_argument("--config", metavar="FILE", help="simulator YAML config (models, auth)")
    parser.add_argument("--answer-key", metavar="FILE", action="append", default=[],
                        help="answer key (JSON, JSONL or YAML); repeatable")
    parser.add_argument("--model", metavar="SPEC", action="append", default=[],
                        help="define or change a model: NAME[:key=value,...], e.g. "
                             "perf:ttft_ms=100,itl_ms=10,output_tokens=128; repeatable")
    parser.add_argument("--seed", type=int, default=None, help="seed for every random choice")
    parser.add_argument("--ready-file", metavar="FILE",
                        help="write the bound port to FILE once the server accepts requests")
    parser.add_argument("--parent-pid", type=int, default=None,
                        help="exit when this process is gone (used by start_sim_process)")
    parser.add_argument("--log-level", default="warning",
                        choices=["critical", "error", "warning", "info", "debug"])
    parser.add_argument("--loop", default="auto", choices=["auto", "asyncio", "uvloop"],
                        help="event loop (auto: uvloop when installed)")
    parser.add_argument("--http", default="auto", choices=["auto", "h11", "httptools"],
                        help="HTTP parser (auto: httptools when installed)")


def run(args: argparse.Namespace) -> int:
    """Start the server in the foreground; returns the exit status."""
    from pytest_llmbench.sim.server import build_state, serve_forever

    try:
        state = build_state(None, args.config, args.answer_key, args.model, args.seed)
    except (SimConfigError, OSError) as exc:
        print(f"llmbench sim: error: {exc}", file=sys.stderr)
        return 2
    try:
        serve_forever(state, args.host, args.port, args.ready_file, args.parent_pid,
                      args.log_level, loop=args.loop, http=args.http)
    except OSError as exc:
        print(f"llmbench sim: error: cannot listen on {args.host}:{args.port}: {exc}",
              file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        pass
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m pytest_llmbench.sim",
                                     description="Local LLM API simulator (OpenAI Chat "
                                                 "Completions and Responses, Anthropic, "
                                                 "Bedrock wire formats).")
    add_arguments(parser)
    return run(parser.parse_args(argv))
