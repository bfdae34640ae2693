"""Helpers of the storefront tests: a shopper's browser as a TestClient (cookies kept,
forms posted from the shop's own origin with the page's CSRF token), registration through
the mail outbox, and the sandbox payer."""

from __future__ import annotations

import re
import time
from typing import Any

from fastapi.testclient import TestClient

from infrastructure.accounts_wiring import account_system

SHOP = "/loja"
ORIGIN = {"Origin": "http://testserver"}
PASSWORD = "verde-bambu-2026-sol"
_CSRF = re.compile(r'name="csrf" value="([^"]+)"')


def csrf_of(page: str) -> str:
    found = _CSRF.search(page)
    assert found, "the page has no CSRF token"
    return found.group(1)


def post_form(client: TestClient, path: str, page: str, **fields: Any) -> Any:
    """A form of `page` sent as a browser of ours sends it (no redirect followed)."""
    data = {"csrf": csrf_of(page), **{k: str(v) for k, v in fields.items()}}
    return client.post(path, data=data, headers=ORIGIN, follow_redirects=False)


def add_to_cart(client: TestClient, sku: str, quantity: int = 1) -> Any:
    return client.post(
        f"{SHOP}/carrinho/itens",
        data={"sku": sku, "quantity": str(quantity)},
        headers=ORIGIN,
        follow_redirects=False,
    )


def register_and_sign_in(
    client: TestClient, email: str, next_path: str = f"{SHOP}/checkout"
) -> Any:
    """Register on the sign-in page, open the mail's link, confirm, sign in."""
    page = client.get(f"{SHOP}/entrar", params={"next": next_path}).text
    answer = post_form(
        client, f"{SHOP}/cadastro", page, email=email, password=PASSWORD, next=next_path
    )
    assert answer.status_code == 200, answer.text
    system = account_system(client.app.state.container)  # type: ignore[attr-defined]
    mails = [m for m in system.outbox.mails() if m["kind"] == "verify_email"]
    link = re.search(r"(/verify-email\?token=\S+)", mails[-1]["body"])
    assert link, mails[-1]["body"]
    opened = client.get(link.group(1))  # the mail's link -> the confirm page
    assert opened.status_code == 200, opened.text
    confirmed = post_form(client, f"{SHOP}/confirmar-email", opened.text, token=_token(opened.text))
    assert confirmed.status_code == 303, confirmed.text
    page = client.get(f"{SHOP}/entrar").text
    signed = post_form(
        client, f"{SHOP}/entrar", page, email=email, password=PASSWORD, next=next_path
    )
    assert signed.status_code == 303, signed.text
    return signed


def _token(page: str) -> str:
    found = re.search(r'name="token" value="([^"]+)"', page)
    assert found
    return found.group(1)


def pay_sandbox(client: TestClient, payment_id: str) -> None:
    services = client.app.state.container.services  # type: ignore[attr-defined]
    payment = services.payments.payment(payment_id)
    gateway = next(g for g in services.payments.gateways if g.name == payment.gateway)
    headers, body = gateway.payer_webhook(gateway.charge(payment.charge_id))
    answer = client.post("/api/v1/payments/webhooks/sandbox", content=body, headers=headers)
    assert answer.status_code == 200, answer.text


def wait_for(check: Any, timeout_s: float = 15) -> Any:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.1)
    raise AssertionError("never happened")
