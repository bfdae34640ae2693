"""Shipping quotes, checkout with a shipping method, and the catalog basics over HTTP:
public reads, PATCH, archive, the order showing carrier and tracking."""

from __future__ import annotations

from tests.e2e.test_http_checkout import ADDRESS, cart_with, payment, settle

API = "/api/v1"


def test_a_quote_then_an_express_checkout_charges_the_quoted_price(client, auth, product):
    admin = auth("admin", "adm")
    patched = client.patch(
        f"{API}/stock-items/ECO-0100", json={"weight_grams": 1500}, headers=admin
    )
    assert patched.status_code == 200, patched.text
    cart_id = cart_with(client, auth, quantity=1)  # 129.90, 1.5 kg
    quote = client.post(
        f"{API}/carts/{cart_id}/shipping-quote",
        json={"postal_code": "01310-100"},
        headers=auth(sub="ana"),
    )
    assert quote.status_code == 200, quote.text
    express = next(o for o in quote.json()["options"] if o["method"] == "express")
    assert (express["price"]["amount"], express["days"]) == ("49.90", 2)
    for cep, status in [("0131", 422), ("00100-000", 422)]:
        bad = client.post(
            f"{API}/carts/{cart_id}/shipping-quote",
            json={"postal_code": cep},
            headers=auth(sub="ana"),
        )
        assert bad.status_code == status, bad.text
    response = client.post(
        f"{API}/carts/{cart_id}/checkout",
        json={"shipping_address": ADDRESS, "payment": payment(), "shipping_method": "express"},
        headers=auth(sub="ana"),
    )
    assert response.status_code == 202, response.text
    order_id = response.json()["order_id"]
    order = settle(client, auth, order_id)
    assert order["shipping_method"] == "express"
    assert order["totals"]["shipping"]["amount"] == "49.90"
    assert order["totals"]["total"]["amount"] == "179.80"
    shipped = client.post(
        f"{API}/orders/{order_id}/ship",
        json={"carrier": "Correios", "tracking_code": "BR1"},
        headers=admin,
    )
    assert shipped.status_code == 202
    token = {"X-Consistency-Token": shipped.json()["consistency_token"]}
    order = client.get(f"{API}/orders/{order_id}", headers=auth(sub="ana", **token)).json()
    assert (order["carrier"], order["tracking_code"]) == ("Correios", "BR1")


def test_an_archived_product_is_readable_but_refused_in_carts(client, auth, product):
    admin = auth("admin", "adm")
    archived = client.post(f"{API}/stock-items/ECO-0100/archive", headers=admin)
    assert archived.status_code == 200
    token = {"X-Consistency-Token": archived.json()["consistency_token"]}
    item = client.get(f"{API}/stock-items/ECO-0100", headers=token).json()  # no token needed
    assert item["archived"] is True
    found = client.get(f"{API}/products/search", params={"q": "garrafa"}, headers=token).json()
    assert found["total"] == 0
    cart_id = client.post(f"{API}/carts", json={}, headers=auth(sub="ana")).json()["cart_id"]
    refused = client.post(
        f"{API}/carts/{cart_id}/items",
        json={"sku": "ECO-0100", "quantity": 1},
        headers=auth(sub="ana"),
    )
    assert refused.status_code == 409
    assert refused.json()["code"] == "archived-product"
    assert (
        client.patch(
            f"{API}/stock-items/ECO-0100", json={"weight_grams": 0}, headers=admin
        ).status_code
        == 422
    )


def test_a_cart_shows_a_new_price_and_checkout_charges_it(client, auth, product):
    cart_id = cart_with(client, auth)  # 2 x 129.90
    changed = client.put(
        f"{API}/stock-items/ECO-0100/price",
        json={"price": {"amount": "119.90", "currency": "BRL"}},
        headers=auth("admin", "adm"),
    )
    assert changed.status_code == 200
    token = {"X-Consistency-Token": changed.json()["consistency_token"]}
    [item] = client.get(f"{API}/carts/{cart_id}", headers=auth(sub="ana", **token)).json()["items"]
    assert (item["unit_price"]["amount"], item["price_changed_from"]["amount"]) == (
        "119.90",
        "129.90",
    )
    response = client.post(
        f"{API}/carts/{cart_id}/checkout",
        json={"shipping_address": ADDRESS, "payment": payment()},
        headers=auth(sub="ana"),
    )
    order = settle(client, auth, response.json()["order_id"])
    assert order["totals"]["subtotal"]["amount"] == "239.80"
