"""Timing a task's result: baseline, human reference and agent, fail closed.

A task with ``perf:`` (``agents.perf_spec``) is an optimisation task. After the agent
stopped, the benchmark files are put back from the starting tree (so an edited timing
script cannot fake a speedup), the check decides as for every task, and only a solved
attempt is timed: its tree in a fresh sandbox, the command run ``repeat`` times by a
timer outside the command's processes (``perf_guest.py``), the median kept. The
baseline is the starting tree timed the same way (or the seconds the task gives) and
``speedup = baseline / agent``; a human reference solution, checked and timed the same
way, gives ``human_speedup``. A timing that fails, times out, does not match
``perf.output`` or cannot be read leaves the speedup absent with the reason, never 0 or 1.
"""

from __future__ import annotations

import json
import math
import re
import secrets
import shlex
import shutil
import statistics
import subprocess
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from pytest_llmbench.agents.grade import CheckResult, copy_tree, run_check
from pytest_llmbench.agents.perf_spec import BASELINE_OUTPUT, SEED_VARIABLE, PerfSpec
from pytest_llmbench.agents.sandbox import SandboxFault, SandboxSpec
from pytest_llmbench.agents.task import Task
from pytest_llmbench.scoring.passk import ks_for, speedup_details

MARKER = "LLMBENCH-PERF"
RUN_OUTPUT_CHARS = 1000
_GUEST = (Path(__file__).parent / "perf_guest.py").read_text(encoding="utf-8")
UNSOLVED = "not solved: an unsolved task has no speedup"


@dataclass
class Timing:
    """One tree's timing: the median of its runs, or None with the reason."""

    seconds: float | None
    runs: list[float] = field(default_factory=list)
    reason: str = "measured"
    outputs: list[str] = field(default_factory=list)  # each run's output (tail)

    def figures(self, name: str) -> dict[str, Any]:
        out: dict[str, Any] = {f"{name}_s": _round(self.seconds),
                               f"{name}_runs": [_round(r) for r in self.runs]}
        if self.seconds is None:
            out[f"{name}_reason"] = self.reason
        return out


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 6)


def parse_timing(output: str, nonce: str, perf: PerfSpec) -> Timing:
    """The timer's one report line for this nonce, checked strictly."""
    mine = [line for line in output.splitlines() if line.startswith(f"{MARKER} {nonce} ")]
    if not mine:
        tail = output.strip().splitlines()[-1:] or ["no output"]
        return Timing(None, reason=f"no timing report from the timer ({tail[0][:200]})")
    if len(mine) > 1:
        return Timing(None, reason=f"{len(mine)} timing reports (a forged one): not trusted")
    try:
        runs = json.loads(mine[0][len(MARKER) + len(nonce) + 2:])
    except ValueError:
        return Timing(None, reason="the timing report does not parse")
    if not isinstance(runs, list) or not all(isinstance(r, dict) for r in runs):
        return Timing(None, reason="the timing report does not parse")
    times: list[float] = []
    for index, run in enumerate(runs, 1):
        seconds, code, text = run.get("seconds"), run.get("exit_code"), run.get("output")
        if run.get("timed_out") is True:
            return Timing(None, times, f"run {index} did not end within {perf.timeout_s:g}s")
        if isinstance(code, bool) or not isinstance(code, int) or not isinstance(text, str):
            return Timing(None, times, "the timing report does not parse")
        if code != 0:
            last = text.strip().splitlines()[-1:] or [""]
            return Timing(None, times, f"run {index} of `{perf.command}` exited with {code}"
                          + (f": {last[0][:200]}" if last[0] else ""))
        if isinstance(seconds, bool) or not isinstance(seconds, int | float) \
                or not math.isfinite(seconds) or seconds <= 0:
            return Timing(None, times, f"run {index} has no valid time ({seconds!r})")
        if perf.output not in (None, BASELINE_OUTPUT) and not re.search(str(perf.output), text):
            return Timing(None, times, f"run {index}'s output does not match {perf.output!r}")
        times.append(float(seconds))
    if len(times) != perf.repeat:
        return Timing(None, times, f"{len(times)} of {perf.repeat} runs reported")
    return Timing(statistics.median(times), times, outputs=[str(r["output"]) for r in runs])


def same_output(timing: Timing, baseline: Timing) -> Timing:
    """``output: baseline``: every run must print what the baseline's first run printed
    (with the same random seed), else the timing is refused."""
    if timing.seconds is None or not baseline.outputs:
        return timing
    expected = baseline.outputs[0].strip()
    for index, text in enumerate(timing.outputs, 1):
        if text.strip() != expected:
            return Timing(None, timing.runs, f"run {index}'s output differs from the "
                          f"baseline's ({text.strip()[-80:]!r} != {expected[-80:]!r})")
    return timing


def time_trees(perf: PerfSpec, trees: Sequence[Path], spec: SandboxSpec,
               before: Callable[[Any], None] | None = None, seed: int | None = None
               ) -> list[Timing]:
    """``perf.command`` timed over each tree in turn, in one fresh sandbox (the work
    directory emptied between trees, and after ``before``, which may use the sandbox
    first): the harness's own trees (the baseline and the human reference) share one;
    an agent's tree gets its own."""
    try:
        box = spec.open()
        try:
            if before is not None:
                before(box)
            timings = []
            for index, tree in enumerate(trees):
                if index or before is not None:
                    _empty(box)
                box.put(tree)
                timings.append(_time_here(perf, box, seed))
            return timings
        finally:
            box.close()
    except (SandboxFault, OSError) as exc:
        return [Timing(None, reason=f"the timing sandbox failed: {exc}") for _ in trees]


def _empty(box: Any) -> None:
    done = box.exec("find . -mindepth 1 -delete", 60)
    if done.exit_code != 0:
        raise SandboxFault(f"could not empty the work directory: {done.output.strip()[-200:]}")


def _time_here(perf: PerfSpec, box: Any, seed: int | None) -> Timing:
    nonce = secrets.token_hex(16)
    payload = json.dumps({"nonce": nonce, "command": perf.command, "repeat": perf.repeat,
                          "timeout_s": perf.timeout_s, "output_chars": RUN_OUTPUT_CHARS,
                          "env": {} if seed is None else {SEED_VARIABLE: str(seed)}})
    done = box.exec(f"python3 -I -c {shlex.quote(_GUEST)}", perf.repeat * (perf.timeout_s + 5) + 30,
                    output_chars=perf.repeat * (4 * RUN_OUTPUT_CHARS + 200) + 8192,
                    stdin=payload.encode())
    if done.timed_out:
        return Timing(None, reason="the timer did not end in time")
    return parse_timing(done.output, nonce, perf)


def restore(perf: PerfSpec, pristine: Path, tree: Path) -> list[str]:
    """Put the benchmark files back in ``tree`` as they are in ``pristine`` (whatever
    the agent left at their paths, links included, is removed first)."""
    names = perf.protected(pristine)
    for name in names:
        node = tree
        for part in PurePosixPath(name).parts[:-1]:
            node = node / part
            if node.is_symlink() or (node.exists() and not node.is_dir()):
                node.unlink()  # a link or a file where a folder must be
        target = tree / name
        if target.is_dir() and not target.is_symlink():
            shutil.rmtree(target)
        elif target.is_symlink() or target.exists():
            target.unlink()
        source = pristine / name
        if source.is_dir() and not source.is_symlink():
            shutil.copytree(source, target, symlinks=True)
        elif source.is_symlink() or source.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target, follow_symlinks=False)
    return names


def apply_reference(reference: Path, tree: Path) -> str | None:
    """A human solution applied to ``tree`` (a patch, or a folder copied over it);
    the reason when it does not apply."""
    if reference.is_dir():
        copy_tree(reference, tree)
        return None
    cmd = (["patch", "-p1", "--batch", "--forward", "-i", str(reference.resolve())]
           if shutil.which("patch") else ["git", "apply", str(reference.resolve())])
    done = subprocess.run(cmd, capture_output=True, text=True, check=False, cwd=tree)
    if done.returncode != 0:
        lines = (done.stdout + done.stderr).strip().splitlines()
        return f"{reference.name} does not apply: {lines[-1] if lines else done.returncode}"
    return None


class PerfTimer:
    """One optimisation task's timings: its baseline and human reference measured once
    (when the first attempt is solved), each solved attempt timed the same way."""

    def __init__(self, task: Task, spec: SandboxSpec,
                 check: Callable[..., CheckResult] = run_check) -> None:
        assert task.perf is not None
        self.task, self.perf, self.spec, self.check = task, task.perf, spec, check
        self._baseline: Timing | None = None
        self._human: Timing | None = None
        self.seed = secrets.randbelow(2**31)  # unknown to the agent, same for every tree

    def restore(self, pristine: Path, tree: Path) -> list[str]:
        return restore(self.perf, pristine, tree)

    def measure_references(self, pristine: Path) -> None:
        """Measure the baseline and the human reference, once, in one sandbox (the
        human solution checked there first: the harness's trees only)."""
        if self._baseline is not None:
            return
        with tempfile.TemporaryDirectory(prefix="llmbench-reference-") as folder:
            human_tree = Path(folder) / "tree"
            human = self._human_tree(pristine, human_tree)
            verdict: list[str | None] = []

            def check_human(box: Any) -> None:
                try:
                    checked = self.check(self.task, human_tree, self.spec, box)
                except SandboxFault as exc:
                    verdict.append(f"the reference's check failed to run: {exc}")
                else:
                    verdict.append(None if checked.solved else
                                   f"the reference solution fails the check: {checked.reason}")

            trees = [pristine] if self.perf.baseline_s is None else []
            if human is None:
                trees.append(human_tree)
            timings = time_trees(self.perf, trees, self.spec,
                                 check_human if human is None else None,
                                 self.seed) if trees else []
        self._baseline = (Timing(self.perf.baseline_s, reason="given")
                          if self.perf.baseline_s is not None else timings.pop(0))
        if self.perf.reference is None:
            return
        problem = human or (verdict[0] if verdict else "the timing sandbox failed")
        self._human = (self._compared(timings.pop(0)) if problem is None
                       else Timing(None, reason=problem))

    def _compared(self, timing: Timing) -> Timing:
        if self.perf.output == BASELINE_OUTPUT and self._baseline is not None:
            return same_output(timing, self._baseline)
        return timing

    def _human_tree(self, pristine: Path, tree: Path) -> str | None:
        """The starting tree with the human solution applied in ``tree``; the reason when
        there is none or it does not apply."""
        reference = self.perf.reference
        if reference is None:
            return "no reference solution"
        copy_tree(pristine, tree)
        problem = apply_reference(reference, tree)
        if problem is None:
            self.restore(pristine, tree)
        return problem

    def known(self) -> dict[str, Any]:
        """The baseline and human figures measured so far (none measured: empty)."""
        out: dict[str, Any] = {}
        if self._baseline is not None:
            out.update(self._baseline.figures("baseline"))
            out["baseline_given"] = self.perf.baseline_s is not None
        if self._human is not None and self._baseline is not None:
            out.update(self._human.figures("human"))
            out["human_speedup"] = _ratio(self._baseline.seconds, self._human.seconds)
        return out

    def measure(self, pristine: Path, final: Path, solved: bool) -> dict[str, Any]:
        """An attempt's figures: ``speedup`` (None with ``reason`` when unsolved or not
        measured) and the baseline / human / agent timings behind it."""
        head: dict[str, Any] = {"command": self.perf.command, "repeat": self.perf.repeat,
                                "min_speedup": self.perf.min_speedup}
        if not solved:
            return {**head, **self.known(), "speedup": None, "reason": UNSOLVED}
        self.measure_references(pristine)
        baseline = self._baseline
        assert baseline is not None
        if baseline.seconds is None:
            return {**head, **self.known(), "speedup": None,
                    "reason": f"baseline not measured: {baseline.reason}"}
        agent = self._compared(time_trees(self.perf, [final], self.spec, seed=self.seed)[0])
        return {**head, **self.known(), **agent.figures("agent"),
                "speedup": _ratio(baseline.seconds, agent.seconds),
                "reason": agent.reason if agent.seconds is None else "measured"}


def _ratio(top: float | None, bottom: float | None) -> float | None:
    return None if top is None or not bottom else top / bottom


def speedup_score(figures: Sequence[tuple[bool, dict[str, Any] | None]], min_speedup: float
                  ) -> dict[str, Any]:
    """Score details of an optimisation task over its judged attempts, as code suites
    have them: ``speedup`` (the reported attempt's) and, over several attempts,
    ``speedup_at`` / ``opt_at`` / ``speedup_best``. An unsolved attempt counts 0; when a
    solved attempt's timing failed, the over-attempts figures are absent."""
    if not figures:
        return {}
    solved = [s for s, _ in figures]
    speedups = [(f or {}).get("speedup") if s else None for s, f in figures]
    best = next((v for s, v in zip(solved, speedups, strict=True) if s), None)
    details: dict[str, Any] = {"speedup": best}
    n = len(figures)
    if n > 1 and not any(s and v is None for s, v in zip(solved, speedups, strict=True)):
        details.update(speedup_details(solved, speedups, ks_for(n, (1, n)), min_speedup,
                                       always=True))
    return details
