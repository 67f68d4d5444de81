"""Starting the simulator for a run that names ``sim:`` models, and feeding it answers.

The controller starts one simulator process per run (all xdist workers share
it); each process that collected suites posts their expected answers, keyed
``suite/case_id``, so simulated models answer benchmark cases by policy.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from typing import Any

import httpx

from pytest_llmbench.suites.model import Suite

SIM_URL_ENV = "LLMBENCH_SIM_URL"


def start_for_run(seed: int) -> tuple[str, Any]:
    """The simulator URL for this run: ``$LLMBENCH_SIM_URL`` or a freshly started one."""
    url = os.environ.get(SIM_URL_ENV)
    if url:
        return url.rstrip("/"), None
    from pytest_llmbench.sim import start_sim_process  # noqa: PLC0415 - only when used

    process = start_sim_process(port=0, seed=seed)
    return process.base_url, process


def post_answer_key(url: str, suites: Iterable[Suite]) -> None:
    suites = list(suites)
    entries = [{"case_id": f"{suite.name}/{case.id}", "answer": _answer(case.expected)}
               for suite in suites for case in suite.cases if case.expected is not None]
    entries += [{"case_id": f"{suite.name}/train/{case.id}", "answer": _answer(case.expected)}
                for suite in suites for case in suite.train if case.expected is not None]
    if entries:
        httpx.post(f"{url}/llmbench/answer-key", json=entries, timeout=30).raise_for_status()


def _answer(expected: Any) -> Any:
    return expected[0] if isinstance(expected, list) and expected else expected
