"""Rate limits and retries seen end to end: real pytest runs, real SDK calls, the
simulator's per-request timestamps as the judge."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import pytest

from pytest_llmbench.sim import SimServer
from tests.conftest import ROWS, read_records, write_suite


@pytest.fixture
def answers(tmp_path: Path) -> Path:
    path = tmp_path / "answers.json"
    path.write_text(json.dumps({f"What is {r['question']}?": r["answer"] for r in ROWS}))
    return path


def _arrivals(sim: SimServer, models: set[str]) -> list[float]:
    return sorted(r["at"] for r in sim.metrics["recent"] if r["model"] in models)


def test_a_provider_limit_holds_across_two_workers(pytester: pytest.Pytester,
                                                  answers: Path) -> None:
    write_suite(pytester.path, rows=ROWS[:6])
    shared_dirs = set(Path(tempfile.gettempdir()).glob("llmbench-limits-*"))
    with SimServer(answer_key=answers) as sim:
        pytester.makefile(".yaml", llmbench=f"""
settings:
  rate_limits:
    openai-compatible: {{rpm: 300}}
models:
  openai-compatible:default: {{base_url: "{sim.base_url}/v1"}}
  openai-compatible:oracle: {{base_url: "{sim.base_url}/v1"}}
""")
        result = pytester.runpytest_subprocess(
            "arith.yaml", "--llmbench-models", "openai-compatible:default,openai-compatible:oracle",
            "-n", "2", "-p", "no:cacheprovider")
        arrivals = _arrivals(sim, {"default", "oracle"})
    result.assert_outcomes(passed=12)
    records = read_records(pytester)
    workers = [r["worker"] for r in records]
    assert set(workers) == {"gw0", "gw1"}, workers  # both workers called the host
    assert len(arrivals) == 12
    # 300 rpm: one start per 0.2 s for the two workers together (each alone would send
    # its 6 at once, and with a budget per worker the 12 would span about 1 s): at most 5
    # arrive in any second (+2 for the window's edge and for sends a loaded machine
    # delays and bunches), and the span is 11 gaps less the first request's extra delay
    # (a new process's first call spends up to ~0.2 s in SDK set-up after its turn)
    offsets = [round(t - arrivals[0], 3) for t in arrivals]
    for start in arrivals:
        assert sum(start <= t < start + 1.0 for t in arrivals) <= 7, offsets
    assert arrivals[-1] - arrivals[0] >= 11 * 0.2 - 0.3, offsets
    # the controller removes the folder its workers shared
    assert set(Path(tempfile.gettempdir()).glob("llmbench-limits-*")) <= shared_dirs


def test_records_show_attempts_of_retried_and_failed_items(pytester: pytest.Pytester,
                                                           answers: Path) -> None:
    write_suite(pytester.path, rows=ROWS[:3])
    models = ["flaky1:base=default,fail_first=1,fail_first_kind=rate_limit,retry_after_s=0.05",
              "down:base=default,fail_first=99,fail_first_kind=unavailable"]
    with SimServer(answer_key=answers, models=models) as sim:
        pytester.makefile(".yaml", llmbench=f"""
models:
  openai-compatible:flaky1: {{base_url: "{sim.base_url}/v1"}}
  openai-compatible:down: {{base_url: "{sim.base_url}/v1"}}
""")
        result = pytester.runpytest_subprocess(
            "arith.yaml", "--llmbench-models", "openai-compatible:flaky1,openai-compatible:down",
            "--llmbench-max-retries", "2", "--llmbench-retry-max-wait", "0.05",
            "-p", "no:cacheprovider")
        sent = sim.metrics["requests_by_model"]
        down = _arrivals(sim, {"down"})
    result.assert_outcomes(passed=3, errors=3)
    result.stdout.fnmatch_lines(["*openai-compatible:down - InternalServerError: *"
                                 "(after 3 attempts)*"])
    by_model: dict[str, set[tuple[str, int, str | None]]] = {}
    for r in read_records(pytester):
        by_model.setdefault(r["model"], set()).add((r["outcome"], r["attempts"], r["error_kind"]))
    assert by_model == {"openai-compatible:flaky1": {("passed", 2, None)},
                        "openai-compatible:down": {("error", 3, "server_error")}}
    assert sent == {"flaky1": 6, "down": 9}
    assert down[-1] - down[0] < 1.0  # backoff waits (up to 0.5 s, 1 s) were capped at 0.05 s


@pytest.mark.parametrize(("args", "yaml", "message"), [
    (["--llmbench-max-retries", "-1"], "",
     "*--llmbench-max-retries: invalid value '-1' for --llmbench-max-retries: must be >= 0*"),
    ([], "settings:\n  rate_limits:\n    openai: {rpm: fast}\n",
     "*llmbench.yaml: settings.rate_limits.openai: rpm must be a number > 0, got 'fast'*"),
    ([], "models:\n  inproc:oracle:\n    rate_limit: {rpm: 10, burst: 2}\n",
     "*llmbench.yaml: model inproc:oracle: rate_limit: unknown key(s) ?'burst'? (known: rpm, tpm)"),
    ([], "models:\n  inproc:oracle:\n    max_retries: many\n",
     "*llmbench.yaml: model inproc:oracle: max_retries must be a number >= 0, got 'many'"),
])
def test_bad_retry_and_limit_settings_are_one_clear_error(pytester: pytest.Pytester,
                                                          args: list[str], yaml: str,
                                                          message: str) -> None:
    write_suite(pytester.path, rows=ROWS[:1])
    if yaml:
        pytester.makefile(".yaml", llmbench=yaml)
    result = pytester.runpytest_subprocess("arith.yaml", "--llmbench-models", "inproc:oracle", *args)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([message])
