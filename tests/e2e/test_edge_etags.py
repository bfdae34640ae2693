"""Optimistic concurrency at the edge: every command answer carries the aggregate's new
version as its ETag, every aggregate read carries the version it shows, and either can be
sent back as If-Match."""

from __future__ import annotations

import time

API = "/api/v1"
ADDRESS = {
    "line1": "Rua Augusta 500",
    "city": "São Paulo",
    "state": "SP",
    "postal_code": "01304-000",
}
CARD = {"card_number": "4242424242424242", "expiry": "12/39", "cvc": "123", "holder": "Ana"}


def etag_matches_version(response, status: int) -> dict:
    assert response.status_code == status, response.text
    body = response.json()
    assert response.headers["etag"] == f'"{body["version"]}"'
    return body


def assert_stale(response) -> None:
    """A command based on a version the aggregate is no longer at: refused, nothing done."""
    assert response.status_code == 409, response.text
    assert response.json()["code"] == "version-conflict"


def confirmed(client, auth, order_id: str, sub: str) -> dict:
    for _ in range(200):
        order = client.get(f"{API}/orders/{order_id}", headers=auth(sub=sub))
        if order.status_code == 200 and order.json()["status"] != "pending":
            return order
        time.sleep(0.05)
    raise AssertionError(f"order {order_id} stayed pending")


def test_every_command_answer_carries_its_new_version_as_etag(client, auth, product):
    admin, ana = auth("admin", "adm"), auth(sub="ana")
    sku = f"{API}/stock-items/{product['sku']}"
    assert product["version"] == 1
    etag_matches_version(client.post(f"{sku}/receipts", json={"quantity": 5}, headers=admin), 200)
    adjustment = {"quantity_delta": -1, "reason": "avaria"}
    etag_matches_version(client.post(f"{sku}/adjustments", json=adjustment, headers=admin), 200)
    price = {"price": {"amount": "99.90", "currency": "BRL"}}
    etag_matches_version(client.put(f"{sku}/price", json=price, headers=admin), 200)

    cart = etag_matches_version(client.post(f"{API}/carts", json={}, headers=ana), 201)
    cart_url = f"{API}/carts/{cart['cart_id']}"
    line = {"sku": product["sku"], "quantity": 2}
    etag_matches_version(client.post(f"{cart_url}/items", json=line, headers=ana), 200)
    etag_matches_version(
        client.put(f"{cart_url}/items/{product['sku']}", json={"quantity": 1}, headers=ana), 200
    )
    etag_matches_version(client.delete(f"{cart_url}/items/{product['sku']}", headers=ana), 200)
    etag_matches_version(client.post(f"{cart_url}/items", json=line, headers=ana), 200)
    checkout = {"shipping_address": ADDRESS, "payment": CARD}
    placed = etag_matches_version(
        client.post(f"{cart_url}/checkout", json=checkout, headers=ana), 202
    )

    order = confirmed(client, auth, placed["order_id"], "ana")
    assert order.json()["status"] == "confirmed"
    version = etag_matches_version(order, 200)["version"]
    ship = {"carrier": "Correios", "tracking_code": "BR123"}
    shipped = client.post(
        f"{API}/orders/{placed['order_id']}/ship",
        json=ship,
        headers={**admin, "If-Match": order.headers["etag"]},
    )
    assert etag_matches_version(shipped, 202)["version"] > version

    line = {"lines": [{"sku": product["sku"], "quantity": 1}]}
    asked = client.post(f"{API}/orders/{placed['order_id']}/returns", json=line, headers=ana)
    reject = f"{API}/returns/{etag_matches_version(asked, 202)['return_id']}/reject"
    assert_stale(client.post(reject, json={}, headers={**admin, "If-Match": '"2"'}))
    rejected = client.post(reject, json={}, headers={**admin, "If-Match": asked.headers["etag"]})
    assert etag_matches_version(rejected, 202)["version"] == 2


def test_the_rates_table_shows_its_version_and_if_match_guards_its_replacement(client, auth):
    admin = auth("admin", "adm")
    url = f"{API}/shipping/rates"
    defaults = etag_matches_version(client.get(url, headers=admin), 200)
    assert defaults["version"] == 0  # no one has replaced the defaults yet
    table = {k: v for k, v in defaults.items() if k != "version"}
    cheaper = {**table, "free_standard_from": "149.00"}
    replaced = client.put(url, json=cheaper, headers={**admin, "If-Match": '"0"'})
    assert etag_matches_version(replaced, 200)["version"] == 1
    assert_stale(client.put(url, json=table, headers={**admin, "If-Match": '"0"'}))
    now = etag_matches_version(client.get(url, headers=admin), 200)
    assert (now["version"], now["free_standard_from"]) == (1, "149.00")


def test_a_cancellation_answer_carries_its_etag(client, auth, product):
    ana = auth(sub="ana")
    cart_id = client.post(f"{API}/carts", json={}, headers=ana).json()["cart_id"]
    line = {"sku": product["sku"], "quantity": 1}
    client.post(f"{API}/carts/{cart_id}/items", json=line, headers=ana)
    checkout = {"shipping_address": ADDRESS, "payment": CARD}
    order_id = client.post(f"{API}/carts/{cart_id}/checkout", json=checkout, headers=ana).json()[
        "order_id"
    ]
    confirmed(client, auth, order_id, "ana")
    cancel = client.post(f"{API}/orders/{order_id}/cancel", json={"reason": "mudei"}, headers=ana)
    etag_matches_version(cancel, 202)


def test_aggregate_reads_carry_the_version_they_show(client, auth, product):
    ana = auth(sub="ana")
    token = {"X-Consistency-Token": product["consistency_token"]}
    stock = client.get(f"{API}/stock-items/{product['sku']}", headers={**ana, **token})
    etag_matches_version(stock, 200)
    created = client.post(f"{API}/carts", json={}, headers=ana).json()
    cart = client.get(
        f"{API}/carts/{created['cart_id']}",
        headers={**ana, "X-Consistency-Token": created["consistency_token"]},
    )
    etag_matches_version(cart, 200)


def test_an_etag_sent_back_as_if_match_guards_the_next_change(client, auth, product):
    admin = auth("admin", "adm")
    url = f"{API}/stock-items/{product['sku']}/receipts"
    first = client.post(url, json={"quantity": 1}, headers=admin)
    etag = first.headers["etag"]
    assert client.post(url, json={"quantity": 1}, headers={**admin, "If-Match": etag}).is_success
    stale = client.post(url, json={"quantity": 1}, headers={**admin, "If-Match": etag})
    assert stale.status_code == 409
