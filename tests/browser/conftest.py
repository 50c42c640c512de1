"""A real headless Chromium (Debian's `chromium` and `chromium-driver`, through Selenium) and a server.

Without the browser the tests are skipped, except under CI (`CI=true`, or
`REQUIRE_BROWSER_TESTS=1`, which .ci/run sets after installing it), where a missing
browser is a failure. A failing test leaves a screenshot and the page's HTML in its
temporary directory.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from instancemock.pytest_plugin import ThreadServer

from support import settings

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--window-size=1400,1000",
)


@pytest.fixture(scope="module")
def server_url() -> Iterator[str]:
    server = ThreadServer(settings())
    try:
        yield server.start()
    finally:
        server.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if CHROMIUM is None or CHROMEDRIVER is None:
        if os.environ.get("CI") == "true" or os.environ.get("REQUIRE_BROWSER_TESTS") == "1":
            pytest.fail("chromium and chromedriver are missing; .ci/run installs them with apt-get")
        pytest.skip("needs Debian's chromium and chromium-driver")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in FLAGS:
        options.add_argument(flag)
    profile = tempfile.mkdtemp(prefix="instancemock-chromium-")
    options.add_argument(f"--user-data-dir={profile}")
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})  # the console, for the pages' errors
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(60)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


@pytest.fixture(autouse=True)
def page_folder(tmp_path: Path) -> Path:
    """Where a failing test's screenshot and HTML go (every browser test has one)."""
    return tmp_path


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    outcome = yield
    report = outcome.get_result()  # type: ignore[attr-defined]
    funcargs = getattr(item, "funcargs", {})
    driver, folder = funcargs.get("browser"), funcargs.get("tmp_path")
    if report.when == "call" and report.failed and driver is not None and isinstance(folder, Path):
        driver.save_screenshot(str(folder / "page.png"))
        (folder / "page.html").write_text(driver.page_source, encoding="utf-8")
        report.sections.append(("browser", f"screenshot and HTML of {driver.current_url} in {folder}"))
