"""Add-to-cart above the money limit is a 422 that changes nothing, and the cart stays
readable (issue 21: the line was accepted and the cart view silently dropped it)."""

from __future__ import annotations

from tests.e2e.conftest import PRODUCT

API = "/api/v1"


def test_adding_a_line_above_the_money_limit_is_422_and_the_cart_stays_as_it_was(client, auth):
    admin = auth("admin", "adm")
    dear = {**PRODUCT, "sku": "ECO-OURO", "price": {"amount": "9000000.00", "currency": "BRL"}}
    assert client.post(f"{API}/stock-items", json=dear, headers=admin).status_code == 201
    cart_id = client.post(f"{API}/carts", json={}, headers=auth()).json()["cart_id"]
    one = client.post(
        f"{API}/carts/{cart_id}/items", json={"sku": "ECO-OURO", "quantity": 1}, headers=auth()
    )
    assert one.status_code == 200, one.text
    two = client.post(
        f"{API}/carts/{cart_id}/items", json={"sku": "ECO-OURO", "quantity": 1}, headers=auth()
    )
    assert two.status_code == 422, two.text
    assert two.headers["content-type"].startswith("application/problem+json")
    token = one.json()["consistency_token"]
    cart = client.get(f"{API}/carts/{cart_id}", headers=auth(**{"X-Consistency-Token": token}))
    assert cart.status_code == 200, cart.text
    body = cart.json()
    assert [(ln["sku"], ln["quantity"]) for ln in body["items"]] == [("ECO-OURO", 1)]
    assert body["version"] == one.json()["version"]
