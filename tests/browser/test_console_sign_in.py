"""Staff sign in to the console in headless Chromium: an invitation link, a password, TOTP
enrolment shown once, then e-mail + password + code; a replayed code is refused."""

from __future__ import annotations

import time
from typing import Any

import pyotp
from selenium.webdriver.common.by import By

from infrastructure.accounts_wiring import account_system
from infrastructure.bootstrap import Container
from tests.browser.test_console import follow

EMAIL = "coordenadora@ecovarejo.com.br"
PASSWORD = "pau-brasil-e-jatobá-31"


def fill(browser: Any, **fields: str) -> None:
    for name, value in fields.items():
        element = browser.find_element(By.ID, name)
        element.clear()
        element.send_keys(value)


def sign_in_with_password(browser: Any, base_url: str, code: str) -> None:
    browser.delete_all_cookies()
    browser.get(f"{base_url}/console/login")
    fill(browser, email=EMAIL, password=PASSWORD, code=code)
    follow(browser, browser.find_element(By.ID, "sign-in-password"))


def test_invited_staff_enrol_totp_and_sign_in_to_the_console(
    system: Container, base_url: str, browser: Any, screenshots
) -> None:
    link = account_system(system).accounts.invite(EMAIL, "admin", [], "system:test")
    browser.delete_all_cookies()
    browser.get(link.replace("http://127.0.0.1:8000", base_url))
    fill(browser, password=PASSWORD)
    follow(browser, browser.find_element(By.ID, "set-password"))
    secret = browser.find_element(By.ID, "totp-secret").text
    codes = browser.find_elements(By.CSS_SELECTOR, "#recovery-codes code")
    assert len(codes) == 10
    browser.save_screenshot(str(screenshots / "totp-enrolment.png"))

    totp = pyotp.TOTP(secret)
    code = totp.now()
    sign_in_with_password(browser, base_url, code)
    who = browser.find_element(By.ID, "who").text
    assert "staff-" in who
    assert browser.current_url.rstrip("/").endswith("/console")

    # The same code again (a replay within its window): refused, still on the sign-in page.
    sign_in_with_password(browser, base_url, code)
    assert browser.find_elements(By.ID, "login-error")
    assert not browser.find_elements(By.ID, "who")

    # Wrong password with a fresh code: the same refusal.
    while totp.now() == code:
        time.sleep(1)
    browser.delete_all_cookies()
    browser.get(f"{base_url}/console/login")
    fill(browser, email=EMAIL, password="não-é-esta-senha", code=totp.now())
    follow(browser, browser.find_element(By.ID, "sign-in-password"))
    assert browser.find_elements(By.ID, "login-error")

    # Signing out revokes the session's token: the cookie alone no longer opens a page.
    sign_in_with_password(browser, base_url, totp.now())
    assert browser.find_elements(By.ID, "who")
    cookie = browser.get_cookie("ev_console")
    assert cookie is not None
    follow(browser, browser.find_element(By.ID, "sign-out"))
    browser.add_cookie({"name": "ev_console", "value": cookie["value"], "path": "/console"})
    browser.get(f"{base_url}/console")
    assert "/console/login" in browser.current_url
