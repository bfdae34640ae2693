"""Pix and boleto over HTTP, end to end: checkout, the sandbox payer's signed webhooks, the
saga's confirmation, expiry and refunds; forged and repeated webhooks."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from infrastructure.settings import Settings
from tests.e2e.conftest import PRODUCT, configured

API = "/api/v1"
ADDRESS = {
    "line1": "Rua da Aurora 300",
    "line2": "",
    "city": "Recife",
    "state": "PE",
    "postal_code": "50050-000",
    "country": "BR",
}
CPF = "529.982.247-25"


@pytest.fixture
def pix_expiry_s() -> int:
    return 600  # a test parametrized with its own value overrides this


@pytest.fixture
def settings(database_url: str, redis_url: str, tmp_path: Path, pix_expiry_s: int) -> Settings:
    return configured(
        database_url,
        redis_url,
        tmp_path,
        ECOVAREJO_PAYMENT_TIMEOUT_S=30,
        ECOVAREJO_PIX_EXPIRY_S=pix_expiry_s,
        ECOVAREJO_SANDBOX_WEBHOOK_SECRET="sandbox-secret-for-tests",
    )


def check_out(client, auth, payment: dict, sub: str = "bia", quantity: int = 2):
    cart_id = client.post(f"{API}/carts", json={}, headers=auth(sub=sub)).json()["cart_id"]
    client.post(
        f"{API}/carts/{cart_id}/items",
        json={"sku": PRODUCT["sku"], "quantity": quantity},
        headers=auth(sub=sub),
    )
    return client.post(
        f"{API}/carts/{cart_id}/checkout",
        json={"shipping_address": ADDRESS, "payment": payment},
        headers=auth(sub=sub),
    )


def order_when(client, auth, order_id: str, done, sub: str = "bia", timeout_s: float = 15) -> dict:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        body = client.get(f"{API}/orders/{order_id}", headers=auth(sub=sub)).json()
        if "order_id" in body and done(body):
            return body
        time.sleep(0.05)
    raise AssertionError(f"order {order_id} never got there: {body}")


def awaiting(client, auth, payment: dict) -> dict:
    response = check_out(client, auth, payment)
    assert response.status_code == 202, response.text
    order_id = response.json()["order_id"]
    return order_when(client, auth, order_id, lambda o: o["status"] != "pending")


def sandbox_webhook(client, payment_id: str, **options) -> tuple[dict[str, str], bytes]:
    services = client.app.state.container.services
    payment = services.payments.payment(payment_id)
    gateway = next(g for g in services.payments.gateways if g.name == payment.gateway)
    return gateway.payer_webhook(gateway.charge(payment.charge_id), **options)


def deliver(client, headers: dict[str, str], body: bytes):
    return client.post(f"{API}/payments/webhooks/sandbox", content=body, headers=headers)


def available(client, auth) -> int:
    return client.get(f"{API}/stock-items/{PRODUCT['sku']}", headers=auth()).json()["available"]


def test_pix_paid_in_time_confirms_the_order(client, auth, product):
    order = awaiting(client, auth, {"method": "pix"})
    assert order["status"] == "awaiting_payment"
    pix = order["payment"]["pix"]
    assert pix["copy_paste"].startswith("000201")
    assert pix["expires_at"]
    assert order["payment"]["method"] == "pix"
    response = deliver(client, *sandbox_webhook(client, order["payment"]["payment_id"]))
    assert response.status_code == 200, response.text
    assert response.json()["outcome"] == "applied"
    confirmed = order_when(client, auth, order["order_id"], lambda o: o["status"] == "confirmed")
    assert confirmed["payment"]["status"] == "captured"
    assert available(client, auth) == 8


@pytest.mark.parametrize("pix_expiry_s", [2])
def test_pix_never_paid_is_cancelled_as_payment_expired_and_the_stock_comes_back(
    client, auth, product, pix_expiry_s
):
    order = awaiting(client, auth, {"method": "pix"})
    assert order["status"] == "awaiting_payment"
    assert available(client, auth) == 8
    cancelled = order_when(
        client, auth, order["order_id"], lambda o: o["status"] == "cancelled", timeout_s=30
    )
    assert cancelled["cancellation_reason"] == "payment_expired"
    for _ in range(100):
        if available(client, auth) == 10:
            break
        time.sleep(0.05)
    assert available(client, auth) == 10


def test_pix_paid_after_expiry_is_refunded_automatically(client, auth, product):
    order = awaiting(client, auth, {"method": "pix"})
    payment_id = order["payment"]["payment_id"]
    assert deliver(client, *sandbox_webhook(client, payment_id, expire=True)).status_code == 200
    order_when(client, auth, order["order_id"], lambda o: o["status"] == "cancelled")
    assert deliver(client, *sandbox_webhook(client, payment_id)).json()["outcome"] == "applied"
    refunded = order_when(
        client, auth, order["order_id"], lambda o: o["payment"]["status"] == "refunded"
    )
    assert refunded["status"] == "cancelled"
    assert refunded["cancellation_reason"] == "payment_expired"


def test_boleto_paid_confirms_the_order(client, auth, product):
    order = awaiting(client, auth, {"method": "boleto", "payer_cpf": CPF})
    assert order["status"] == "awaiting_payment"
    boleto = order["payment"]["boleto"]
    assert len(boleto["digitable_line"]) == 47
    assert boleto["due_date"]
    assert CPF.replace(".", "").replace("-", "") not in json.dumps(order)
    deliver(client, *sandbox_webhook(client, order["payment"]["payment_id"]))
    order_when(client, auth, order["order_id"], lambda o: o["status"] == "confirmed")


def test_the_same_webhook_delivered_five_times_confirms_once(client, auth, product):
    order = awaiting(client, auth, {"method": "pix"})
    headers, body = sandbox_webhook(client, order["payment"]["payment_id"])
    answers = [deliver(client, headers, body) for _ in range(5)]
    assert [a.status_code for a in answers] == [200] * 5
    confirmed = order_when(client, auth, order["order_id"], lambda o: o["status"] == "confirmed")
    kinds = [step["type"] for step in confirmed["history"]]
    assert kinds.count("Order.Confirmed") == 1
    events = client.app.state.container.services.store.events.get(
        confirmed["payment"]["payment_id"]
    )
    assert [type(e).__name__ for e in events].count("Paid") == 1


def test_a_forged_webhook_is_401_and_changes_nothing(client, auth, product):
    order = awaiting(client, auth, {"method": "pix"})
    headers, body = sandbox_webhook(client, order["payment"]["payment_id"])
    forged = {**headers, "x-sandbox-signature": "sha256=" + "ab" * 32}
    response = deliver(client, forged, body)
    assert response.status_code == 401
    assert response.headers["content-type"] == "application/problem+json"
    assert deliver(client, {"content-type": "application/json"}, body).status_code == 401
    time.sleep(0.5)
    still = client.get(f"{API}/orders/{order['order_id']}", headers=auth(sub="bia")).json()
    assert still["status"] == "awaiting_payment"
    assert still["version"] == order["version"]


def test_a_webhook_with_another_amount_is_flagged_and_does_not_confirm(client, auth, product):
    order = awaiting(client, auth, {"method": "pix"})
    from decimal import Decimal

    headers, body = sandbox_webhook(client, order["payment"]["payment_id"], amount=Decimal("1.00"))
    assert deliver(client, headers, body).json()["outcome"] == "amount_mismatch"
    payment_url = f"{API}/payments/{order['payment']['payment_id']}"
    for _ in range(100):
        payment = client.get(payment_url, headers=auth("admin", "adm")).json()
        if payment["flagged"] == 1:
            break
        time.sleep(0.05)
    assert payment["flagged"] == 1
    still = client.get(f"{API}/orders/{order['order_id']}", headers=auth(sub="bia")).json()
    assert still["status"] == "awaiting_payment"


def test_a_webhook_for_an_unknown_payment_is_accepted(client):
    services = client.app.state.container.services
    gateway = services.payments.gateways[0]
    headers, body = gateway.payer_webhook(
        {"charge_id": "x", "reference": "00000000-0000-0000-0000-000000000000", "amount": "5.00"}
    )
    response = deliver(client, headers, body)
    assert response.status_code == 200
    assert response.json()["outcome"] == "unknown_payment"


@pytest.mark.parametrize(
    ("payment", "field"),
    [
        ({"method": "cash"}, "method"),
        ({"method": "boleto"}, "payer_cpf"),
        ({"method": "boleto", "payer_cpf": "529.982.247-24"}, "cpf"),
        (
            {
                "card_number": "4242424242424242",
                "expiry": "12/39",
                "cvc": "123",
                "holder": "Bia",
                "installments": 13,
            },
            "installments",
        ),
        (
            {
                "card_number": "4242424242424242",
                "expiry": "12/39",
                "cvc": "123",
                "holder": "Bia",
                "installments": 0,
            },
            "installments",
        ),
    ],
)
def test_bad_payment_input_is_422_and_places_nothing(client, auth, product, payment, field):
    response = check_out(client, auth, payment)
    assert response.status_code == 422, response.text
    assert field in response.text.lower()
    listed = client.get(f"{API}/orders", headers=auth(sub="bia")).json()
    assert listed["total"] == 0


def test_card_installments_show_on_the_order_and_add_up_to_the_total(client, auth, product):
    card = {
        "card_number": "4242424242424242",
        "expiry": "12/39",
        "cvc": "123",
        "holder": "Bia",
        "installments": 3,
    }
    response = check_out(client, auth, card)
    assert response.status_code == 202, response.text
    order = order_when(
        client, auth, response.json()["order_id"], lambda o: o["status"] != "pending"
    )
    assert order["status"] == "confirmed"
    plan = order["payment"]["installments"]
    assert plan["count"] == 3
    from decimal import Decimal

    total = Decimal(order["totals"]["total"]["amount"])
    parts = Decimal(plan["first_amount"]) + Decimal(plan["amount"]) * 2
    assert parts == total


def test_a_paid_pix_order_cancelled_by_the_customer_shows_its_refund_on_the_order(
    client, auth, product
):
    order = awaiting(client, auth, {"method": "pix"})
    deliver(client, *sandbox_webhook(client, order["payment"]["payment_id"]))
    order_when(client, auth, order["order_id"], lambda o: o["status"] == "confirmed")
    cancel = client.post(
        f"{API}/orders/{order['order_id']}/cancel", json={"reason": ""}, headers=auth(sub="bia")
    )
    assert cancel.status_code == 202, cancel.text
    refunded = order_when(
        client, auth, order["order_id"], lambda o: o["payment"]["status"] == "refunded"
    )
    assert refunded["refunded_total"] == refunded["totals"]["total"]
