"""/docs (Swagger UI) and /redoc render in headless Chromium with the network blocked:
every asset comes from the app (api/http/docs_offline.py, the fastapi-offline package), and the
pages' CSP (no inline script) holds: the browser reports no violation. Uses the module's
system and server (tests/browser/conftest.py) and its own Chromium, whose resolver knows
no host but 127.0.0.1."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.browser.conftest import _chromium

BLOCKED = "MAP * ~NOTFOUND , EXCLUDE 127.0.0.1"


@pytest.fixture(scope="module")
def offline_browser(browser: Any) -> Iterator[Any]:
    """A second Chromium like the module's (which proves Chromium runs), offline."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    found = _chromium()
    assert found is not None
    binary, driver_path = found
    options = webdriver.ChromeOptions()
    options.binary_location = binary
    for argument in (
        "--headless=new",
        "--no-sandbox",
        "--disable-dev-shm-usage",
        "--disable-gpu",
        "--window-size=1280,900",
        f"--host-resolver-rules={BLOCKED}",  # no DNS: a CDN could not be reached
        "--proxy-server=http://127.0.0.1:9",  # nor any address but ours (bypassed below)
        "--proxy-bypass-list=127.0.0.1",
        "--disable-background-networking",
    ):
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(driver_path), options=options)
    yield driver
    driver.quit()


def wait_for(driver: Any, script: str, timeout: float = 30) -> Any:
    deadline = time.monotonic() + timeout
    while not (value := driver.execute_script(script)):
        assert time.monotonic() < deadline, f"timed out: {script}"
        time.sleep(0.2)
    return value


def violations(driver: Any, *allowed: str) -> list[str]:
    """CSP violations and failed loads the console reported, but those `allowed`."""
    return [
        entry["message"]
        for entry in driver.get_log("browser")
        if ("Content Security Policy" in entry["message"] or "ERR_" in entry["message"])
        and not any(a in entry["message"] for a in allowed)
    ]


def test_the_network_is_really_blocked_in_this_browser(offline_browser: Any) -> None:
    from selenium.common.exceptions import WebDriverException

    with pytest.raises(WebDriverException, match="ERR_"):
        offline_browser.get("https://cdn.jsdelivr.net/npm/swagger-ui-dist@5/swagger-ui.css")


def test_swagger_ui_renders_every_operation_offline_without_a_csp_violation(
    base_url: str, offline_browser: Any
) -> None:
    offline_browser.get_log("browser")  # start clean
    offline_browser.get(f"{base_url}/docs")
    title = wait_for(
        offline_browser,
        "var t = document.querySelector('.swagger-ui .info .title'); return t && t.textContent",
    )
    assert "EcoVarejo" in title
    operations = wait_for(
        offline_browser, "return document.querySelectorAll('.opblock').length || 0"
    )
    assert operations >= 20
    assert violations(offline_browser) == []


def test_redoc_renders_offline_without_a_script_or_style_violation(
    base_url: str, offline_browser: Any
) -> None:
    offline_browser.get_log("browser")
    offline_browser.get(f"{base_url}/redoc")
    heading = wait_for(
        offline_browser, "var h = document.querySelector('h1'); return h && h.textContent"
    )
    assert "EcoVarejo" in heading
    wait_for(offline_browser, "return document.querySelectorAll('[role=menuitem]').length > 10")
    # ReDoc's "API docs by Redocly" badge is an image on its CDN: blocked, by design.
    assert violations(offline_browser, "cdn.redoc.ly/redoc/logo-mini.svg") == []


def test_the_docs_pages_carry_no_inline_script_and_a_strict_csp(base_url: str) -> None:
    pages = (("/docs", "style-src 'self';"), ("/redoc", "style-src 'self' 'unsafe-inline';"))
    for path, styles in pages:
        page = httpx.get(f"{base_url}{path}")
        assert page.status_code == 200
        csp = page.headers["content-security-policy"]
        assert "script-src 'self';" in csp
        assert styles in csp
        assert "<script>" not in page.text
        assert "cdn" not in page.text.lower()
    assert httpx.get(f"{base_url}/docs/assets/../app.py").status_code == 404
    assert httpx.get(f"{base_url}/docs/assets/core.py").status_code == 404
