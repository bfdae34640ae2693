"""The sandbox provider in a real browser, the way a storefront uses a provider's SDK: a
shop page under a strict CSP (no inline script) loads `/sandbox-provider/v1/sandbox.js`,
the script posts the typed card to the sandbox's tokenization endpoint, and the shop's own
form receives the token and nothing of the card. Then the sandbox issuer's 3-D Secure page
(a plain form, no script) authenticates and sends the shopper back to the shop."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any
from uuid import uuid4

import pytest
import uvicorn
from selenium.webdriver.common.by import By
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.routing import Mount, Route

from api.http.app import create_app
from domain.money import Money
from infrastructure.bootstrap import Container
from tests.browser.conftest import _free_port

APPROVED, THREE_DS = "4242424242424242", "4000002500003155"
# What a storefront's pages send: scripts and fetches from its own origin only.
SHOP_CSP = (
    "default-src 'none'; script-src 'self'; connect-src 'self'; form-action 'self'; "
    "style-src 'self'; base-uri 'none'; frame-ancestors 'none'"
)
SHOP_PAGE = """<!doctype html>
<html lang="pt-BR"><head><meta charset="utf-8"><title>Loja</title>
<script src="/sandbox-provider/v1/sandbox.js" defer></script></head>
<body><form method="post" action="/test-shop/checkout" data-sandbox-card-form>
<label>Número <input id="number" data-sandbox-card="card_number"></label>
<label>Validade <input id="expiry" data-sandbox-card="expiry"></label>
<label>CVC <input id="cvc" data-sandbox-card="cvc"></label>
<label>Titular <input id="holder" data-sandbox-card="holder"></label>
<input type="hidden" name="card_token">
<input type="hidden" name="installments" value="2">
<p id="error" data-sandbox-card-error></p>
<button id="pay" type="submit">Pagar</button>
</form></body></html>"""


@pytest.fixture(scope="module")
def received() -> list[dict[str, Any]]:
    return []


@pytest.fixture(scope="module")
def base_url(system: Container, received: list[dict[str, Any]]) -> Iterator[str]:
    """The API (with the sandbox provider) behind a stand-in storefront at /test-shop."""

    async def page(request: Request) -> HTMLResponse:
        return HTMLResponse(SHOP_PAGE, headers={"Content-Security-Policy": SHOP_CSP})

    async def checkout(request: Request) -> HTMLResponse:
        received.append(dict(await request.form()))
        return HTMLResponse("<p id='done'>ok</p>", headers={"Content-Security-Policy": SHOP_CSP})

    async def back(request: Request) -> HTMLResponse:
        return HTMLResponse("<p id='back'>de volta</p>")

    storefront = Starlette(
        routes=[
            Route("/test-shop/checkout", page, methods=["GET"]),
            Route("/test-shop/checkout", checkout, methods=["POST"]),
            Route("/test-shop/back", back),
            Mount("/", app=create_app(system)),
        ]
    )
    port = _free_port()
    server = uvicorn.Server(
        uvicorn.Config(storefront, host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.02)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(10)


def wait_for(browser: Any, css: str, timeout_s: float = 10) -> Any:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        found = browser.find_elements(By.CSS_SELECTOR, css)
        if found:
            return found[0]
        time.sleep(0.05)
    raise AssertionError(f"{css} never showed: {browser.page_source[:500]}")


def test_the_shop_form_submits_only_the_token_the_sandbox_sdk_made(
    browser, base_url, system, received
):
    browser.get(f"{base_url}/test-shop/checkout")
    for field, value in (
        ("number", APPROVED),
        ("expiry", "12/39"),
        ("cvc", "123"),
        ("holder", "Joaquina Cartão"),
    ):
        browser.find_element(By.ID, field).send_keys(value)
    browser.find_element(By.ID, "pay").click()
    wait_for(browser, "#done")
    (form,) = received
    assert set(form) == {"card_token", "installments"}  # nothing of the card
    assert form["card_token"].startswith("tok_")
    vault = system.services.payments.gateways[0]
    assert vault.accept_token(form["card_token"]).last4 == "4242"


def test_a_refused_card_shows_the_providers_error_and_submits_nothing(browser, base_url, received):
    received.clear()
    browser.get(f"{base_url}/test-shop/checkout")
    browser.find_element(By.ID, "number").send_keys("4242")  # too short: refused
    browser.find_element(By.ID, "pay").click()
    deadline = time.monotonic() + 10
    while not browser.find_element(By.ID, "error").text and time.monotonic() < deadline:
        time.sleep(0.05)
    assert browser.find_element(By.ID, "error").text
    assert received == []


def test_the_sandbox_issuer_page_authenticates_and_sends_the_shopper_back(
    browser, base_url, system
):
    primary = system.services.payments.gateways[0]
    token = primary.tokenize(THREE_DS, "12/39", "123", "Ana").token
    waiting = primary.authorize(token, Money.brl("10.00"), key=str(uuid4()))
    assert waiting.action is not None
    browser.get(f"{base_url}{waiting.action.redirect_url}?return_to=/test-shop/back")
    browser.find_element(By.ID, "approve").click()
    wait_for(browser, "#back")
    assert browser.current_url == f"{base_url}/test-shop/back"
    assert primary.authentication_result(waiting.authorization_id).approved
