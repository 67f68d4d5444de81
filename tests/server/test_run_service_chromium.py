"""The run service in a real headless Chromium against ``llmbench server --worker`` on
SQLite (the in-process worker): sign in with a run key, fill the New run form, land on the
run's page, watch it go to done over Server-Sent Events without reloading, open its
results; a refused form shows the one-line reason and queues nothing."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import write_suite
from tests.server.conftest import Server, start_server
from tests.server.test_pages_chromium import browser  # noqa: F401 - the shared fixture

ROWS = 40


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Server, Path]]:
    tmp = tmp_path_factory.mktemp("svc-pages")
    suites = tmp / "suites"
    suites.mkdir()
    write_suite(suites, rows=[{"id": f"q{i:03d}", "question": f"{i} + {i}", "answer": str(2 * i)}
                              for i in range(ROWS)])
    server = start_server(f"sqlite:///{tmp / 'server.db'}", tmp,
                          ["--suites-dir", str(suites), "--worker", "--workdir", str(tmp / "work")])
    try:
        yield server, tmp
    finally:
        server.stop()


def _shot(driver: Any, tmp: Path, name: str) -> None:
    folder = Path(os.environ.get("LLMBENCH_SCREENSHOTS") or tmp)
    folder.mkdir(parents=True, exist_ok=True)
    driver.save_screenshot(str(folder / f"{name}.png"))


def _wait(predicate: Any, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.2)


def test_form_queued_progress_results(browser: Any, site: tuple[Server, Path]) -> None:  # noqa: F811
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    server, tmp = site
    d = browser
    d.get(server.url + "/login")
    d.find_element(By.NAME, "key").send_keys(server.key("run"))
    d.find_element(By.CSS_SELECTOR, "form[action='/login'] button").click()
    _wait(lambda: "/login" not in d.current_url)

    d.get(server.url + "/runs/new")
    d.find_element(By.NAME, "models").send_keys("nosuch:model")
    Select(d.find_element(By.NAME, "suites")).select_by_visible_text("arith")
    d.find_element(By.CSS_SELECTOR, "#new-run button").click()
    _wait(lambda: d.find_elements(By.ID, "message"))
    assert "unknown provider 'nosuch'" in d.find_element(By.ID, "message").text
    assert server.get("/api/runs", params={"status": "queued"}).json()["runs"] == []

    d.get(server.url + "/runs/new")
    d.find_element(By.NAME, "models").send_keys("sim:slow, inproc:wrong")
    Select(d.find_element(By.NAME, "suites")).select_by_visible_text("arith")
    Select(d.find_element(By.NAME, "subset_pct")).select_by_visible_text("50%")
    d.find_element(By.CSS_SELECTOR, "#new-run button").click()
    _wait(lambda: "/jobs/" in d.current_url)
    run_id = d.current_url.rsplit("/", 1)[1]
    assert d.find_element(By.TAG_NAME, "h1").text == f"Run {run_id}"
    assert d.find_element(By.ID, "status").text in ("queued", "running")
    seen: set[str] = set()

    def finished() -> bool:
        seen.add(d.find_element(By.ID, "done").text)
        return d.find_element(By.ID, "status").text == "done"

    _wait(lambda: d.find_element(By.ID, "status").text == "running" or finished())
    _shot(d, tmp, "run-progress")
    _wait(finished)  # the page is never reloaded: the events update it
    _shot(d, tmp, "run-done")
    total = ROWS  # 50% of 40 cases x 2 models
    assert d.find_element(By.ID, "done").text == str(total)
    assert d.find_element(By.ID, "total").text == str(total)
    outcomes = json.loads(d.find_element(By.ID, "outcomes").text)
    assert sum(outcomes.values()) == total and outcomes["failed"] >= ROWS // 2  # inproc:wrong fails all
    assert len(seen) > 1  # progress moved while we watched
    assert not d.find_elements(By.ID, "cancel")
    d.find_element(By.ID, "results").click()
    _wait(lambda: d.find_elements(By.ID, "run-title"))
    assert d.find_element(By.ID, "run-title").text == f"Run {run_id}"

    d.get(server.url + "/queue")
    assert run_id in d.find_element(By.TAG_NAME, "main").text
