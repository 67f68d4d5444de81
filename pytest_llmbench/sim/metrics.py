"""What the simulator saw, for tests and dashboards: ``GET /metrics``.

Counters are plain dicts updated on the event loop thread, so no locks. The
JSON form is what tests read; ``?format=prometheus`` gives the text format.
Secrets never enter: the recent-request log keeps no auth headers.
"""

from __future__ import annotations

import time
from collections import Counter, deque
from dataclasses import dataclass, field
from typing import Any

RECENT = 500


@dataclass
class Metrics:
    """Counts by (route, model, status), tokens, faults, and gauges."""

    started: float = field(default_factory=time.time)
    requests: Counter[tuple[str, str, int]] = field(default_factory=Counter)
    tokens_in: Counter[str] = field(default_factory=Counter)
    tokens_out: Counter[str] = field(default_factory=Counter)
    faults: Counter[tuple[str, str]] = field(default_factory=Counter)
    in_flight: Counter[str] = field(default_factory=Counter)
    queued: Counter[str] = field(default_factory=Counter)
    recent: deque[dict[str, Any]] = field(default_factory=lambda: deque(maxlen=RECENT))

    def request_done(self, route: str, model: str, status: int) -> None:
        self.requests[(route, model, status)] += 1

    def reset(self) -> None:
        """Zero the counters (not the gauges: requests still running stay counted)."""
        self.requests.clear()
        self.tokens_in.clear()
        self.tokens_out.clear()
        self.faults.clear()
        self.recent.clear()
        self.started = time.time()

    def as_json(self) -> dict[str, Any]:
        by_route: Counter[str] = Counter()
        by_model: Counter[str] = Counter()
        by_status: Counter[str] = Counter()
        for (route, model, status), n in self.requests.items():
            by_route[route] += n
            by_model[model] += n
            by_status[str(status)] += n
        return {
            "uptime_s": round(time.time() - self.started, 3),
            "requests_total": sum(self.requests.values()),
            "requests": [
                {"route": r, "model": m, "status": s, "count": n}
                for (r, m, s), n in sorted(self.requests.items())
            ],
            "requests_by_route": dict(by_route),
            "requests_by_model": dict(by_model),
            "requests_by_status": dict(by_status),
            "tokens_in": dict(self.tokens_in),
            "tokens_out": dict(self.tokens_out),
            "tokens_in_total": sum(self.tokens_in.values()),
            "tokens_out_total": sum(self.tokens_out.values()),
            "faults": [{"model": m, "kind": k, "count": n}
                       for (m, k), n in sorted(self.faults.items())],
            "in_flight": sum(self.in_flight.values()),
            "in_flight_by_model": {k: v for k, v in self.in_flight.items() if v},
            "queued": sum(self.queued.values()),
            "recent": list(self.recent),
        }

    def as_prometheus(self) -> str:
        lines = [
            "# HELP llmbench_sim_requests_total Requests answered, by route, model and status.",
            "# TYPE llmbench_sim_requests_total counter",
        ]
        for (route, model, status), n in sorted(self.requests.items()):
            lines.append(
                f'llmbench_sim_requests_total{{route="{_esc(route)}",model="{_esc(model)}",'
                f'status="{status}"}} {n}'
            )
        for name, counter, help_ in (
            ("llmbench_sim_tokens_in_total", self.tokens_in, "Prompt tokens received."),
            ("llmbench_sim_tokens_out_total", self.tokens_out, "Completion tokens sent."),
        ):
            lines += [f"# HELP {name} {help_}", f"# TYPE {name} counter"]
            lines += [f'{name}{{model="{_esc(m)}"}} {n}' for m, n in sorted(counter.items())]
        lines += ["# HELP llmbench_sim_faults_total Faults injected.",
                  "# TYPE llmbench_sim_faults_total counter"]
        lines += [f'llmbench_sim_faults_total{{model="{_esc(m)}",kind="{k}"}} {n}'
                  for (m, k), n in sorted(self.faults.items())]
        lines += ["# HELP llmbench_sim_in_flight Requests being answered now.",
                  "# TYPE llmbench_sim_in_flight gauge",
                  f"llmbench_sim_in_flight {sum(self.in_flight.values())}",
                  "# HELP llmbench_sim_queued Requests waiting for a model slot.",
                  "# TYPE llmbench_sim_queued gauge",
                  f"llmbench_sim_queued {sum(self.queued.values())}"]
        return "\n".join(lines) + "\n"


def _esc(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
