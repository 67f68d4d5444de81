"""``fail_first``: each prompt's first N requests fail, then the model answers."""

from __future__ import annotations

import time

import openai
import pytest

from pytest_llmbench.sim import SimServer
from pytest_llmbench.sim.config import SimConfigError, load_config


def test_each_case_fails_its_first_requests_then_answers() -> None:
    models = ["twice:base=fast,fail_first=2,fail_first_kind=rate_limit,retry_after_s=0.25"]
    with SimServer(models=models) as sim:
        client = openai.OpenAI(base_url=sim.base_url + "/v1", api_key="k", max_retries=0)

        def ask(case: str) -> object:
            return client.chat.completions.create(
                model="twice", messages=[{"role": "user", "content": "hi"}],
                extra_headers={"x-llmbench-case": case})

        for _ in range(2):
            with pytest.raises(openai.RateLimitError) as info:
                ask("a")
            assert info.value.response.headers["retry-after-ms"] == "250"
        assert ask("a").choices[0].message.content  # type: ignore[attr-defined]
        assert ask("a").choices[0].message.content  # type: ignore[attr-defined]
        with pytest.raises(openai.RateLimitError):
            ask("b")  # another case counts on its own
        deadline = time.monotonic() + 5  # the server logs a request just after answering it
        while len(recent := sim.metrics["recent"]) < 5 and time.monotonic() < deadline:
            time.sleep(0.01)
    assert [r["status"] for r in recent] == [429, 429, 200, 200, 429]
    stamps = [r["at"] for r in recent]
    assert stamps == sorted(stamps) and abs(stamps[-1] - time.time()) < 5


def test_fail_first_kind_is_checked() -> None:
    with pytest.raises(SimConfigError, match="fail_first_kind must be one of"):
        load_config(models=["m:fail_first=1,fail_first_kind=oops"])
