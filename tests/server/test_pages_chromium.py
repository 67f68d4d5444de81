"""The pages in a real headless Chromium (Debian's chromium + chromium-driver through
Selenium): runs -> run -> filtered items -> item, compare with regressions only, trends,
verify upload and the admin form after signing in with a key. Screenshots are saved in
the test's folder (LLMBENCH_SCREENSHOTS=DIR keeps them elsewhere)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from pytest_llmbench.report.export import export_run
from tests.server.conftest import Server, start_server
from tests.server.runs import make_run

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
DRIVER = shutil.which("chromedriver")


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not (CHROMIUM and DRIVER):
        pytest.skip("needs Debian's chromium and chromium-driver (apt-get install chromium chromium-driver)")
    from selenium import webdriver
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service

    options = Options()
    options.binary_location = CHROMIUM
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--window-size=1400,1100"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(DRIVER), options=options)
    driver.set_page_load_timeout(60)
    try:
        yield driver
    finally:
        driver.quit()


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Server, Path]]:
    tmp = tmp_path_factory.mktemp("pages")
    url = f"sqlite:///{tmp / 'server.db'}"
    runs = [make_run(tmp / "runs", "base-0001", {1, 2}, started_at=1_800_000_000.0),
            make_run(tmp / "runs", "cand-0002", {1, 2, *range(10, 20)}, started_at=1_800_003_600.0),
            make_run(tmp / "runs", "next-0003", {1}, started_at=1_800_007_200.0, latency=1.5)]
    subprocess.run([str(Path(sys.executable).parent / "llmbench"), "server", "--database-url", url,
                    "import", *map(str, runs)], check=True, capture_output=True, timeout=300)
    server = start_server(url, tmp)
    try:
        yield server, tmp
    finally:
        server.stop()


def _open(driver: Any, url: str) -> None:
    """driver.get, once more when a loaded machine made Chromium's renderer miss a beat."""
    from selenium.common.exceptions import WebDriverException

    try:
        driver.get(url)
    except WebDriverException:
        driver.get(url)


def _go(driver: Any, element: Any) -> None:
    """Click and wait until the next page replaced this one."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions
    from selenium.webdriver.support.ui import WebDriverWait

    old = driver.find_element(By.TAG_NAME, "html")
    element.click()
    WebDriverWait(driver, 30).until(expected_conditions.staleness_of(old))


def _shot(driver: Any, folder: Path, name: str) -> Path:
    out = Path(os.environ.get("LLMBENCH_SCREENSHOTS") or folder) / f"{name}.png"
    out.parent.mkdir(parents=True, exist_ok=True)
    height = driver.execute_script("return document.body.scrollHeight")
    driver.set_window_size(1400, min(max(int(height) + 40, 700), 4000))
    driver.save_screenshot(str(out))
    return out


def test_runs_to_run_to_item(browser: Any, site: tuple[Server, Path]) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    server, tmp = site
    d = browser
    _open(d, server.url + "/")
    rows = d.find_elements(By.CSS_SELECTOR, "#runs tbody tr")
    assert [r.find_element(By.CSS_SELECTOR, "a.run-link").text for r in rows] == [
        "next-0003", "cand-0002", "base-0001"]
    _shot(d, tmp, "runs")
    _go(d, d.find_element(By.LINK_TEXT, "cand-0002"))
    assert d.find_element(By.ID, "run-title").text == "Run cand-0002"
    summary = d.find_elements(By.CSS_SELECTOR, "#summary tbody tr")
    assert [r.find_elements(By.TAG_NAME, "td")[4].text for r in summary] == ["80.0%", "100.0%"]
    assert d.find_elements(By.CSS_SELECTOR, "svg rect")  # the accuracy chart
    _shot(d, tmp, "run")
    Select(d.find_element(By.NAME, "outcome")).select_by_visible_text("failed")
    _go(d, d.find_element(By.ID, "filter-items"))
    outcomes = [c.text for c in d.find_elements(By.CSS_SELECTOR, "#items tbody td:nth-child(4)")]
    assert outcomes == ["failed"] * 12
    _go(d, d.find_elements(By.CSS_SELECTOR, "a.item-link")[5])
    assert "c013" in d.find_element(By.ID, "item-title").text
    assert d.find_element(By.ID, "response").text == "wrong"
    assert d.find_element(By.ID, "expected").text == "answer 13"
    _shot(d, tmp, "item")


def test_compare_regressions_only(browser: Any, site: tuple[Server, Path]) -> None:
    from selenium.webdriver.common.by import By

    server, tmp = site
    d = browser
    _open(d, server.url + "/")
    for run_id in ("base-0001", "cand-0002"):
        d.find_element(By.CSS_SELECTOR, f"input[value='{run_id}']").click()
    _go(d, d.find_element(By.ID, "compare-selected"))
    flagged = d.find_elements(By.CSS_SELECTOR, "#compare-rows tr.regression")
    assert len(flagged) == 1 and "m1" in flagged[0].text
    _go(d, d.find_element(By.ID, "regressions-only"))
    cases = [r.find_elements(By.TAG_NAME, "td")[1].text
             for r in d.find_elements(By.CSS_SELECTOR, "#matrix tbody tr")]
    assert cases == [f"c{i:03d}" for i in range(10, 20)]
    _shot(d, tmp, "compare")


def test_trends_mark_the_regression(browser: Any, site: tuple[Server, Path]) -> None:
    from selenium.webdriver.common.by import By

    server, tmp = site
    d = browser
    _open(d, server.url + "/trends")
    d.find_element(By.NAME, "model").send_keys("m1")
    _go(d, d.find_element(By.ID, "show-trends"))
    series = d.find_elements(By.CSS_SELECTOR, ".series")
    assert len(series) == 1
    assert len(d.find_elements(By.CSS_SELECTOR, "circle.regression-point")) == 1
    assert len(d.find_elements(By.CSS_SELECTOR, "circle.point")) == 2
    _shot(d, tmp, "trends")


def test_verify_upload_and_admin_form(browser: Any, site: tuple[Server, Path]) -> None:
    from selenium.webdriver.common.by import By

    server, tmp = site
    d = browser
    bundle = export_run(tmp / "runs" / "base-0001", tmp / "base.zip")
    _open(d, server.url + "/verify")
    d.find_element(By.NAME, "bundle").send_keys(str(bundle))
    _go(d, d.find_element(By.ID, "verify-button"))
    assert d.find_element(By.ID, "verdict").text == "untrusted"
    assert "unsigned" in d.find_element(By.ID, "reason").text
    _shot(d, tmp, "verify")
    _open(d, server.url + "/runs/base-0001")
    d.find_element(By.NAME, "value").send_keys("baseline")
    _go(d, d.find_element(By.CSS_SELECTOR, "form[action$='/admin'] button"))
    assert "scope 'admin'" in d.find_element(By.ID, "error").text
    _open(d, server.url + "/login")
    d.find_element(By.NAME, "key").send_keys(server.key("admin"))
    _go(d, d.find_element(By.CSS_SELECTOR, "form[action='/login'] button"))
    _open(d, server.url + "/runs/base-0001")
    d.find_element(By.NAME, "value").send_keys("baseline")
    _go(d, d.find_element(By.CSS_SELECTOR, "form[action$='/admin'] button"))
    assert "baseline" in d.find_element(By.CSS_SELECTOR, ".tag").text
    assert server.key("admin") not in d.page_source
