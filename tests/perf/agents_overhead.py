"""What does the agent harness cost beyond the model and the commands? (a script, not a test)

Prints absolute figures and ratios against baselines measured in the same run:

1. per-turn harness cost: the agent loop running ``COMMANDS`` shell commands in a Docker
   sandbox, one per turn, from an instant in-process model (so model time is ~0), against
   ``docker exec`` of the same commands directly: median seconds per turn and the
   difference (harness cost per turn = loop turn - direct exec).
2. container start per task: ``DockerSandbox`` start (run + workdir) and the full set-up
   of a task (start + copy the starting files in), against a bare ``docker run -d`` +
   ``docker rm -f``; medians of ``STARTS``.
3. parallel tasks: four bundled tasks, each alone (real SDK to the simulator, Docker
   sandbox, check included), then all four at once in threads: parallel wall time
   against the slowest task alone (ideal 1.0 with enough cores).

Misses are not asserted; exit status is 0. Run it on an otherwise idle machine:

    .venv/bin/python tests/perf/agents_overhead.py
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from pytest_llmbench.agents.image import ensure_agent_image  # noqa: E402
from pytest_llmbench.agents.loop import run_loop  # noqa: E402
from pytest_llmbench.agents.sandbox import DockerSandbox  # noqa: E402
from pytest_llmbench.agents.task import Limits  # noqa: E402
from pytest_llmbench.agents.tools import ToolCall  # noqa: E402
from pytest_llmbench.agents.wire import Turn  # noqa: E402
from pytest_llmbench.config import ModelSpec  # noqa: E402
from pytest_llmbench.providers.base import Completion  # noqa: E402

COMMANDS = 20
STARTS = 5
TASKS = ["fix_typo", "add_validation", "refactor", "shell_summary"]


class InstantModel:
    """Returns the next scripted command at once (so a turn's time is the harness's)."""

    spec = ModelSpec.parse("inproc:perf")

    def __init__(self, commands: list[str]) -> None:
        self.commands = commands
        self.n = 0

    def step(self, messages: list[dict[str, Any]]) -> Turn:
        if self.n < len(self.commands):
            call = ToolCall(f"c{self.n}", "run_command", f'{{"command": "{self.commands[self.n]}"}}')
        else:
            call = ToolCall("end", "finish", "{}")
        self.n += 1
        return Turn("", [call], Completion(text="", input_tokens=1, output_tokens=1))

    def close(self) -> None:
        pass


def per_turn(image: str) -> None:
    commands = [f"echo turn {i} && ls -la > /dev/null" for i in range(COMMANDS)]
    box = DockerSandbox(image)
    try:
        direct = []
        for command in commands:
            t0 = time.perf_counter()
            subprocess.run(["docker", "exec", "-w", box.workdir, box.container, "bash", "-c",
                            command], capture_output=True, check=True)
            direct.append(time.perf_counter() - t0)
        result = run_loop(InstantModel(commands), box, "perf", Limits(turns=COMMANDS + 2))
    finally:
        box.close()
    turns = [(e["model_s"] + sum(t["s"] for t in e["tools"])) for e in result.events
             if e["tools"] and e["tools"][0]["name"] == "run_command"]
    loop_median, direct_median = statistics.median(turns), statistics.median(direct)
    print(f"1. per turn: loop {loop_median * 1000:.1f} ms, docker exec directly "
          f"{direct_median * 1000:.1f} ms -> harness cost per turn "
          f"{(loop_median - direct_median) * 1000:+.1f} ms (ratio "
          f"{loop_median / direct_median:.2f}x; {len(turns)} turns, medians)")


def starts(image: str) -> None:
    bare, sandbox, setup = [], [], []
    repo = ROOT / "bench_suites" / "agent_tasks" / "add_validation" / "repo"
    for _ in range(STARTS):
        t0 = time.perf_counter()
        name = subprocess.run(["docker", "run", "-d", "--network", "none", image, "sleep",
                               "infinity"], capture_output=True, text=True,
                              check=True).stdout.strip()
        subprocess.run(["docker", "rm", "-f", name], capture_output=True, check=True)
        bare.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        box = DockerSandbox(image)
        sandbox.append(box.start_s)
        box.put(repo)
        setup.append(time.perf_counter() - t0)
        t1 = time.perf_counter()
        box.close()
        setup[-1] += time.perf_counter() - t1
    full, plain = statistics.median(setup), statistics.median(bare)
    print(f"2. container start per task: DockerSandbox start {statistics.median(sandbox):.2f} s,"
          f" start + copy-in + remove {full:.2f} s, bare docker run + rm {plain:.2f} s "
          f"(ratio {full / plain:.2f}x)")


def parallel() -> None:
    from pytest_llmbench.agents.runner import default_image, run_attempt, sandbox_spec
    from pytest_llmbench.agents.solutions import post_solutions
    from pytest_llmbench.agents.suite import load_task
    from pytest_llmbench.agents.wire import make_tool_model
    from pytest_llmbench.calls.retry import RetryPolicy
    from pytest_llmbench.sim import start_sim_process

    process = start_sim_process(port=0)
    try:
        tasks = [load_task(ROOT / "bench_suites" / "agent_tasks" / name) for name in TASKS]
        post_solutions(process.base_url, tasks)

        def one(task: Any) -> float:
            model = make_tool_model(ModelSpec.parse("sim:default"),
                                    {"sim_url": process.base_url}, RetryPolicy(), 60)
            t0 = time.perf_counter()
            attempt = run_attempt(task, sandbox_spec(task, "docker", default_image), model)
            model.close()
            assert attempt.solved, (task.id, attempt.error, attempt.check)
            return time.perf_counter() - t0

        alone = {task.id: one(task) for task in tasks}
        t0 = time.perf_counter()
        with ThreadPoolExecutor(len(tasks)) as pool:
            list(pool.map(one, tasks))
        together = time.perf_counter() - t0
    finally:
        process.stop()
    slowest = max(alone.values())
    print(f"3. {len(tasks)} tasks in parallel: {together:.1f} s vs slowest alone {slowest:.1f} s "
          f"(ratio {together / slowest:.2f}x; alone: "
          + ", ".join(f"{k} {v:.1f} s" for k, v in alone.items()) + ")")


def main() -> None:
    image = ensure_agent_image()
    with tempfile.TemporaryDirectory():
        per_turn(image)
        starts(image)
        parallel()


if __name__ == "__main__":
    main()
