"""Per (suite, model, target) summaries, built incrementally as records arrive.

Only counts and the raw latency samples are kept, so 100,000 records cost
little memory; percentiles come from raw samples, never averaged.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any

from pytest_llmbench.results.record import is_serving
from pytest_llmbench.results.stats import mean_interval, percentile, wilson_interval
from pytest_llmbench.results.throughput import Throughput, median_rate

AGENT_FIELDS = ("agent_tasks", "agent_wall_p50_s", "agent_model_time_s", "agent_tool_time_s",
                "agent_output_tps", "agent_call_ttft_p50_s")
SUMMARY_FIELDS = (
    "suite", "model", "variant", "target", "commit", "n", "passed", "failed", "errors", "skipped", "accuracy",
    "accuracy_ci_low", "accuracy_ci_high", "error_rate", "extraction_failure_rate",
    "truncation_rate",
    "latency_p50", "latency_p95", "latency_p99", "ttft_p50", "ttft_p95", "output_tps",
    "decode_tps_p50",
    "input_tokens", "output_tokens", "tokens_estimated", "cost_usd", "cost_per_correct",
    "reasoning_tokens", "judge_cost_usd", "speedup", "ttft_speedup", "tps_ratio",
    "best_variant", "fit_cost_usd", "fit_time_s", "fit_calls",
    "label",  # the models config's display_name / label, when it gives one
    "cached",  # records answered from the cache or a recording (their times are not used)
    # agent items (many turns: no per-call latency / TTFT / tok/s above; see docs/agents.md)
    *AGENT_FIELDS,
)
# per-k columns, present when records carry them: pass_at_1, pass_at_5, speedup_at_1 ...
SAMPLE_METRICS = ("pass_at", "speedup_at", "opt_at")


@dataclass
class _AgentFigures:
    """Agent items (many turns each): their own times instead of per-call percentiles."""

    tasks: int = 0
    wall: list[float] = field(default_factory=list)
    model_time_s: float = 0.0
    tool_time_s: float = 0.0
    throughput: Throughput = field(default_factory=Throughput)
    call_ttft: list[float] = field(default_factory=list)

    def add(self, metrics: dict[str, Any]) -> None:
        self.tasks += 1
        if isinstance(metrics.get("wall_s"), int | float):
            self.wall.append(float(metrics["wall_s"]))
        self.model_time_s += float(metrics.get("model_time_s") or 0.0)
        self.tool_time_s += float(metrics.get("tool_time_s") or 0.0)
        tokens, seconds = metrics.get("output_tokens_live"), metrics.get("generation_s")
        if tokens and seconds:
            self.throughput.merge(Throughput(int(tokens), float(seconds)))
        self.call_ttft.extend(v for v in metrics.get("call_ttft_s") or ()
                              if isinstance(v, int | float))

    def merge(self, other: _AgentFigures) -> None:
        self.tasks += other.tasks
        self.wall.extend(other.wall)
        self.model_time_s += other.model_time_s
        self.tool_time_s += other.tool_time_s
        self.throughput.merge(other.throughput)
        self.call_ttft.extend(other.call_ttft)

    def row(self) -> dict[str, Any]:
        if not self.tasks:
            return {}
        return {"agent_tasks": self.tasks, "agent_wall_p50_s": percentile(self.wall, 50),
                "agent_model_time_s": round(self.model_time_s, 6),
                "agent_tool_time_s": round(self.tool_time_s, 6),
                "agent_output_tps": self.throughput.tps,
                "agent_call_ttft_p50_s": percentile(self.call_ttft, 50)}


@dataclass
class _Group:
    suite: str
    model: str
    target: str | None = None
    variant: str | None = None
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(
        ("passed", "failed", "error", "skipped"), 0))
    scores: list[float] = field(default_factory=list)
    extraction_failures: int = 0
    truncations: int = 0
    latency: list[float] = field(default_factory=list)
    ttft: list[float] = field(default_factory=list)
    decode_tps: list[float] = field(default_factory=list)  # per-request rates, for a median
    throughput: Throughput = field(default_factory=Throughput)
    input_tokens: int = 0
    output_tokens: int = 0
    reasoning_tokens: int = 0
    tokens_estimated: bool = False
    cost: float = 0.0
    cost_unknown: bool = False
    judge_cost: float | None = None
    batch: int = 0  # records answered by provider batches (no latency figures)
    per_k: dict[str, list[float]] = field(default_factory=dict)
    cached: int = 0  # records answered (in part) from the cache or a recording
    live: int = 0  # records with at least one call made in this run (their cost is spent)
    agents: _AgentFigures = field(default_factory=_AgentFigures)


class SummaryBuilder:
    def __init__(self) -> None:
        self._groups: dict[tuple[str, str, str, str], _Group] = {}

    def add(self, record: dict[str, Any]) -> None:
        key = (record["suite"], record["model"], record.get("target") or "",
               record.get("variant") or "")
        group = self._groups.get(key)
        if group is None:
            group = self._groups[key] = _Group(record["suite"], record["model"],
                                               record.get("target"), record.get("variant"))
        outcome = record["outcome"]
        group.counts[outcome] = group.counts.get(outcome, 0) + 1
        # a serving point passes on its SLOs: counted, but it has no accuracy
        if outcome in ("passed", "failed") and not is_serving(record):
            score = record.get("score")
            group.scores.append(float(score) if score is not None else
                                (1.0 if outcome == "passed" else 0.0))
            if record.get("extraction_failed"):
                group.extraction_failures += 1
            if record.get("truncated"):
                group.truncations += 1
            _add_per_k(group, record, outcome)
        if record.get("judge_cost_usd") is not None:
            group.judge_cost = (group.judge_cost or 0.0) + record["judge_cost_usd"]
        if outcome == "skipped" or not record.get("calls"):
            return
        if record.get("cached_calls"):
            group.cached += 1
        if (record.get("calls") or 0) > (record.get("cached_calls") or 0) \
                and not record.get("batch"):
            group.live += 1
        metrics = record.get("metrics")
        if isinstance(metrics, dict) and metrics.get("kind") == "agent":
            group.agents.add(metrics)
        for name, samples in (("latency_s", group.latency), ("ttft_s", group.ttft)):
            value = record.get(name)
            if value is not None:
                samples.append(value)
        if record.get("output_tps") is not None and not record.get("cached_calls"):
            group.decode_tps.append(record["output_tps"])
        group.throughput.add_record(record)
        group.input_tokens += record.get("input_tokens") or 0
        group.output_tokens += record.get("output_tokens") or 0
        group.reasoning_tokens += record.get("reasoning_tokens") or 0
        group.tokens_estimated |= bool(record.get("tokens_estimated"))
        group.batch += bool(record.get("batch"))
        if record.get("cost_usd") is None:
            group.cost_unknown = True
        else:
            group.cost += record["cost_usd"]

    def rows(self) -> list[dict[str, Any]]:
        return [self._row(g) for _, g in sorted(self._groups.items())]

    def model_rows(self, suite: str) -> list[dict[str, Any]]:
        """One row per model over all its suites, named ``suite``: raw samples and counts
        merged, never percentiles averaged."""
        merged: dict[str, _Group] = {}
        for (_, model, target, _), group in sorted(self._groups.items()):
            _merge(merged.setdefault(model, _Group(suite, model, target or None)), group)
        return [self._row(g) for _, g in sorted(merged.items())]

    def latency_samples(self) -> dict[tuple[str, str], list[float]]:
        """The raw per-request latencies of each (suite, model), for distributions (a
        model's name carries its ``@target``; a variant's is ``model/variant``)."""
        return {(suite, f"{model}/{variant}" if variant else model): g.latency
                for (suite, model, _, variant), g in sorted(self._groups.items())}

    @staticmethod
    def _row(g: _Group) -> dict[str, Any]:
        c = g.counts
        n = sum(c.values())
        scored = len(g.scores)
        accuracy = sum(g.scores) / scored if scored else None
        binary = all(s in (0.0, 1.0) for s in g.scores)
        ci = (wilson_interval(sum(g.scores), scored) if binary else mean_interval(g.scores))
        attempted = n - c["skipped"]
        cost = None if g.cost_unknown or not (g.live or g.batch) else g.cost
        correct = sum(g.scores)
        return {
            "suite": g.suite, "model": g.model, "variant": g.variant, "target": g.target,
            "n": n, "passed": c["passed"],
            "failed": c["failed"], "errors": c["error"], "skipped": c["skipped"],
            "accuracy": accuracy,
            "accuracy_ci_low": ci[0] if ci else None, "accuracy_ci_high": ci[1] if ci else None,
            "error_rate": c["error"] / attempted if attempted else None,
            "extraction_failure_rate": g.extraction_failures / scored if scored else None,
            "truncation_rate": g.truncations / scored if scored else None,
            "latency_p50": percentile(g.latency, 50), "latency_p95": percentile(g.latency, 95),
            "latency_p99": percentile(g.latency, 99), "ttft_p50": percentile(g.ttft, 50),
            "ttft_p95": percentile(g.ttft, 95),
            "output_tps": g.throughput.tps, "decode_tps_p50": median_rate(g.decode_tps),
            "input_tokens": g.input_tokens, "output_tokens": g.output_tokens,
            "tokens_estimated": g.tokens_estimated,
            "cost_usd": None if cost is None else round(cost, 9),
            "cost_per_correct": round(cost / correct, 9) if cost is not None and correct else None,
            "reasoning_tokens": g.reasoning_tokens,
            "judge_cost_usd": None if g.judge_cost is None else round(g.judge_cost, 9),
            "cached": g.cached,
            **{name: sum(g.per_k[name]) / len(g.per_k[name])
               for name in sorted(g.per_k, key=k_order)},
            **({"batch_items": g.batch} if g.batch else {}),  # latency absent: batch answers
            **g.agents.row(),
        }


def _merge(into: _Group, group: _Group) -> None:
    """Pool ``group`` into ``into`` (raw samples joined, counts and costs added)."""
    for f in fields(_Group):
        if f.name == "variant":  # a model's row pools all its variants
            continue
        mine, theirs = getattr(into, f.name), getattr(group, f.name)
        if isinstance(mine, Throughput | _AgentFigures):
            mine.merge(theirs)
        elif isinstance(mine, list):
            mine.extend(theirs)
        elif isinstance(mine, dict):
            for key, value in theirs.items():
                if isinstance(value, list):
                    mine.setdefault(key, []).extend(value)
                else:
                    mine[key] = mine.get(key, 0) + value
        elif mine is None or theirs is None:  # an optional cost known on one side only
            setattr(into, f.name, theirs if mine is None else mine)
        elif isinstance(mine, bool):
            setattr(into, f.name, mine or theirs)
        elif isinstance(mine, int | float):
            setattr(into, f.name, mine + theirs)


def _add_per_k(group: _Group, record: dict[str, Any], outcome: str) -> None:
    for name, value in per_k_values(record, outcome).items():
        group.per_k.setdefault(name, []).append(value)


def per_k_values(record: dict[str, Any], outcome: str) -> dict[str, float]:
    """pass@k, speedup@k and opt@k of one scored item (samples), or speedup@1 of a
    single timed answer (a wrong one counts 0; a right one not timed is left out)."""
    details = record.get("score_details") or {}
    out: dict[str, float] = {}
    for metric in SAMPLE_METRICS:
        for k, value in (details.get(metric) or {}).items():
            if value is not None:
                out[f"{metric}_{k}"] = float(value)
    if "speedup" in details and "speedup_at" not in details:
        speedup = details["speedup"] if outcome == "passed" else 0.0
        if speedup is not None:
            out["speedup_at_1"] = float(speedup)
    return out


def k_order(name: str) -> tuple[str, int]:
    prefix, _, k = name.rpartition("_")
    return prefix, int(k) if k.isdigit() else 0


def extra_columns(rows: list[dict[str, Any]]) -> list[str]:
    """The per-k columns of these rows, in a stable order (after SUMMARY_FIELDS)."""
    names = {name for row in rows for name in row if name not in SUMMARY_FIELDS}
    return sorted(names, key=k_order)
