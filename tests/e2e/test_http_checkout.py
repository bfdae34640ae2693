"""Checkout and orders over HTTP: the happy paths of DESIGN.md's test cards, and bad input."""

from __future__ import annotations

import time

import pytest

from tests.e2e.conftest import PRODUCT

API = "/api/v1"
ADDRESS = {
    "line1": "Av. Paulista 1000",
    "line2": "",
    "city": "São Paulo",
    "state": "SP",
    "postal_code": "01310-100",
    "country": "BR",
}


def payment(number: str = "4242424242424242", **change: str) -> dict:
    return {"card_number": number, "expiry": "12/39", "cvc": "123", "holder": "Ana Souza", **change}


def cart_with(client, auth, sub: str = "ana", quantity: int = 2) -> str:
    cart_id = client.post(f"{API}/carts", json={}, headers=auth(sub=sub)).json()["cart_id"]
    response = client.post(
        f"{API}/carts/{cart_id}/items",
        json={"sku": PRODUCT["sku"], "quantity": quantity},
        headers=auth(sub=sub),
    )
    assert response.status_code == 200
    return cart_id


def settle(client, auth, order_id: str, sub: str = "ana") -> dict:
    for _ in range(200):
        body = client.get(f"{API}/orders/{order_id}", headers=auth(sub=sub)).json()
        if body.get("status") not in (None, "pending", 404):  # 404: not projected yet
            return body
        time.sleep(0.05)
    raise AssertionError(f"order {order_id} stayed pending")


@pytest.mark.parametrize(
    ("number", "status", "reason", "gateway"),
    [
        ("4242424242424242", "confirmed", None, "primary"),
        ("4000000000000002", "cancelled", "payment_declined", "primary"),
        ("4000000000000119", "confirmed", None, "secondary"),
    ],
)
def test_checkout_ends_as_the_test_card_says(
    client, auth, product, number, status, reason, gateway
):
    cart_id = cart_with(client, auth)
    response = client.post(
        f"{API}/carts/{cart_id}/checkout",
        json={"shipping_address": ADDRESS, "payment": payment(number)},
        headers=auth(sub="ana"),
    )
    assert response.status_code == 202, response.text
    order_id = response.json()["order_id"]
    order = settle(client, auth, order_id)
    assert (order["status"], order["cancellation_reason"]) == (status, reason)
    assert order["payment"]["last4"] == number[-4:]
    assert order["totals"]["total"] == {"amount": "259.80", "currency": "BRL"}
    assert order["history"][0]["type"] == "Order.Placed"
    stock = client.get(f"{API}/stock-items/{PRODUCT['sku']}", headers=auth()).json()
    assert stock["available"] == (8 if status == "confirmed" else 10)
    for _ in range(100):
        listed = client.get(f"{API}/orders", headers=auth(sub="ana")).json()
        if listed["items"] and listed["items"][0]["status"] == status:
            break
        time.sleep(0.05)
    assert listed["total"] == 1
    assert listed["items"][0]["order_id"] == order_id
    payment_id = client.app.state.container.view("orders").get(f"order:{order_id}")["payment_id"]
    paid = client.get(f"{API}/payments/{payment_id}", headers=auth(sub="ana")).json()
    assert paid["gateway"] == gateway
    assert "card_number" not in str(paid)


@pytest.mark.parametrize(
    ("body_change", "field"),
    [
        ({"payment": payment("4242424242424241")}, "card"),
        ({"payment": payment(expiry="01/20")}, "card"),
        ({"payment": payment(cvc="12")}, "cvc"),
        ({"shipping_address": {**ADDRESS, "city": ""}}, "city"),
        (
            {"shipping_address": {k: v for k, v in ADDRESS.items() if k != "postal_code"}},
            "postal_code",
        ),
        ({"shipping_address": {**ADDRESS, "state": "XX"}}, "state"),
    ],
)
def test_refuses_a_bad_card_or_address_and_creates_no_order(
    client, auth, product, body_change, field
):
    cart_id = cart_with(client, auth)
    head = client.app.state.container.head_position()
    body = {"shipping_address": ADDRESS, "payment": payment(), **body_change}
    response = client.post(f"{API}/carts/{cart_id}/checkout", json=body, headers=auth(sub="ana"))
    assert response.status_code == 422, response.text
    assert field in response.text
    assert client.app.state.container.head_position() == head


def test_refuses_checkout_of_an_empty_cart(client, auth):
    cart_id = client.post(f"{API}/carts", json={}, headers=auth(sub="ana")).json()["cart_id"]
    response = client.post(
        f"{API}/carts/{cart_id}/checkout",
        json={"shipping_address": ADDRESS, "payment": payment()},
        headers=auth(sub="ana"),
    )
    assert response.status_code == 422
    assert response.json()["code"] == "empty-cart"


def test_a_cart_checks_out_once_and_refuses_changes_after(client, auth, product):
    cart_id = cart_with(client, auth)
    body = {"shipping_address": ADDRESS, "payment": payment()}
    assert (
        client.post(
            f"{API}/carts/{cart_id}/checkout", json=body, headers=auth(sub="ana")
        ).status_code
        == 202
    )
    again = client.post(f"{API}/carts/{cart_id}/checkout", json=body, headers=auth(sub="ana"))
    assert again.status_code == 409
    added = client.post(
        f"{API}/carts/{cart_id}/items",
        json={"sku": PRODUCT["sku"], "quantity": 1},
        headers=auth(sub="ana"),
    )
    assert added.status_code == 409


def test_cancel_and_ship_follow_the_status_machine(client, auth, product):
    admin = auth("admin", "adm")
    body = {"shipping_address": ADDRESS, "payment": payment()}
    shipped = client.post(
        f"{API}/carts/{cart_with(client, auth)}/checkout", json=body, headers=auth(sub="ana")
    ).json()["order_id"]
    cancelled = client.post(
        f"{API}/carts/{cart_with(client, auth, quantity=1)}/checkout",
        json=body,
        headers=auth(sub="ana"),
    ).json()["order_id"]
    settle(client, auth, shipped)
    settle(client, auth, cancelled)
    assert (
        client.post(
            f"{API}/orders/{shipped}/ship",
            json={"carrier": "Correios", "tracking_code": "BR1"},
            headers=admin,
        ).status_code
        == 202
    )
    assert (
        client.post(
            f"{API}/orders/{cancelled}/cancel", json={"reason": "desisti"}, headers=auth(sub="ana")
        ).status_code
        == 202
    )
    assert (
        client.post(
            f"{API}/orders/{shipped}/cancel", json={"reason": "x"}, headers=auth(sub="ana")
        ).status_code
        == 409
    )
    assert (
        client.post(
            f"{API}/orders/{cancelled}/ship",
            json={"carrier": "Correios", "tracking_code": "BR2"},
            headers=admin,
        ).status_code
        == 409
    )


def test_orders_are_private_to_their_customer(client, auth, product):
    body = {"shipping_address": ADDRESS, "payment": payment()}
    order_id = client.post(
        f"{API}/carts/{cart_with(client, auth)}/checkout", json=body, headers=auth(sub="ana")
    ).json()["order_id"]
    settle(client, auth, order_id)
    assert client.get(f"{API}/orders/{order_id}", headers=auth(sub="bruno")).status_code == 404
    assert (
        client.post(
            f"{API}/orders/{order_id}/cancel", json={}, headers=auth(sub="bruno")
        ).status_code
        == 404
    )
    assert client.get(f"{API}/orders", headers=auth(sub="bruno")).json()["total"] == 0
    assert client.get(f"{API}/orders?customer_id=ana", headers=auth(sub="bruno")).status_code == 403
    assert (
        client.get(f"{API}/orders?customer_id=ana", headers=auth("admin", "adm")).json()["total"]
        == 1
    )
    assert client.get(f"{API}/orders/{order_id}", headers=auth("admin", "adm")).status_code == 200
    assert client.get(f"{API}/orders?size=101", headers=auth(sub="ana")).status_code == 422
    assert client.get(f"{API}/orders?status=lost", headers=auth(sub="ana")).status_code == 422
