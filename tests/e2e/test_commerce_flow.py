"""The whole commerce flow on the running system, over HTTP: cart -> coupon -> shipping
quote -> checkout -> ship -> return two of three lines -> refund. Checks the money (order,
payment, gateway), the stock, the read models (order view, analytics net of discount and
refund), the audit trail, and that a rebuild of every read model gives the same answers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import UUID

from domain.payment import payment_id_for_order
from infrastructure.bootstrap import REDIS_PROJECTIONS
from infrastructure.read_stores.projection_admin import rebuild, snapshot
from tests.checkout import check_invariants, settled, wait_until
from tests.e2e.test_edge_etags import assert_stale
from tests.e2e.test_http_checkout import ADDRESS, payment, settle

API = "/api/v1"
PRODUCTS = [("ECO-A", "30.00", "casa"), ("ECO-B", "20.00", "casa"), ("ECO-C", "10.00", "moda")]


def product(sku: str, price: str, category: str) -> dict:
    return {
        "sku": sku,
        "name": f"Produto {sku}",
        "category": category,
        "price": {"amount": price, "currency": "BRL"},
        "initial_quantity": 10,
        "weight_grams": 400,
        "sustainability": {"carbon_footprint_kg": "1.000", "certifications": []},
    }


def stale(headers: dict, version: str) -> dict:
    return {**headers, "If-Match": f'"{version}"'}


def test_cart_coupon_quote_checkout_ship_return_and_refund(client, auth, container):
    admin, ana = auth("admin", "adm"), auth(sub="ana")
    for sku, price, category in PRODUCTS:
        assert (
            client.post(
                f"{API}/stock-items", json=product(sku, price, category), headers=admin
            ).status_code
            == 201
        )
    now = datetime.now(tz=UTC)
    promo = {
        "code": "DEZ",
        "kind": "percent",
        "value": "10",
        "valid_from": (now - timedelta(days=1)).isoformat(),
        "valid_until": (now + timedelta(days=1)).isoformat(),
        "max_uses": 5,
    }
    assert client.post(f"{API}/promotions", json=promo, headers=admin).status_code == 201
    cart_id = client.post(f"{API}/carts", json={}, headers=ana).json()["cart_id"]
    for sku, quantity in (("ECO-A", 2), ("ECO-B", 1), ("ECO-C", 3)):  # 60 + 20 + 30 = 110
        added = client.post(
            f"{API}/carts/{cart_id}/items", json={"sku": sku, "quantity": quantity}, headers=ana
        )
        assert added.status_code == 200, added.text
    assert (
        client.put(f"{API}/carts/{cart_id}/coupon", json={"code": "DEZ"}, headers=ana).status_code
        == 200
    )
    quote = client.post(
        f"{API}/carts/{cart_id}/shipping-quote", json={"postal_code": "01310-100"}, headers=ana
    )
    standard = next(o for o in quote.json()["options"] if o["method"] == "standard")
    assert standard["price"]["amount"] == "29.90"  # 2.4 kg to the Sudeste, 99.00 < 199.00
    placed = client.post(
        f"{API}/carts/{cart_id}/checkout",
        json={"shipping_address": ADDRESS, "payment": payment(), "shipping_method": "standard"},
        headers=ana,
    )
    assert placed.status_code == 202, placed.text
    order_id = placed.json()["order_id"]
    order = settle(client, auth, order_id)
    assert order["status"] == "confirmed"
    assert {k: v["amount"] for k, v in order["totals"].items()} == {
        "subtotal": "110.00",
        "discount": "11.00",
        "shipping": "29.90",
        "total": "128.90",
    }
    shipped = client.post(
        f"{API}/orders/{order_id}/ship",
        json={"carrier": "Correios", "tracking_code": "BR9"},
        headers=admin,
    )
    assert shipped.status_code == 202
    wait_until(lambda: settled(container.services), what="the capture")

    wanted = {
        "lines": [{"sku": "ECO-A", "quantity": 2}, {"sku": "ECO-C", "quantity": 1}],
        "reason": "defeito",
    }
    assert_stale(
        client.post(f"{API}/orders/{order_id}/returns", json=wanted, headers=stale(ana, "1"))
    )
    asked = client.post(f"{API}/orders/{order_id}/returns", json=wanted, headers=ana)
    assert asked.status_code == 202, asked.text
    return_id = asked.json()["return_id"]
    assert_stale(client.post(f"{API}/returns/{return_id}/approve", headers=stale(admin, "2")))
    approved = client.post(
        f"{API}/returns/{return_id}/approve", headers={**admin, "If-Match": asked.headers["etag"]}
    )
    assert approved.status_code == 202
    assert client.post(f"{API}/returns/{return_id}/approve", headers=admin).status_code == 409
    assert_stale(client.post(f"{API}/returns/{return_id}/receive", headers=stale(admin, "1")))
    received = client.post(
        f"{API}/returns/{return_id}/receive",
        headers={**admin, "If-Match": approved.headers["etag"]},
    )
    assert received.status_code == 202
    wait_until(lambda: settled(container.services), what="the refund")
    wait_until(
        lambda: container.services.returns.return_of(return_id).status == "refunded",
        what="refunded",
    )
    assert container.wait_for_projections(container.head_position(), timeout=20)

    view = client.get(f"{API}/returns/{return_id}", headers=ana).json()
    assert (view["status"], view["refund"]["amount"]) == ("refunded", "63.00")  # 54.00 + 9.00
    order = client.get(f"{API}/orders/{order_id}", headers=ana).json()
    assert order["status"] == "partially_returned"
    assert order["refunded_total"]["amount"] == "63.00"
    assert [r["status"] for r in order["returns"]] == ["refunded"]
    assert (order["carrier"], order["tracking_code"]) == ("Correios", "BR9")
    pay = client.get(f"{API}/payments/{payment_id_for_order(UUID(order_id))}", headers=ana).json()
    assert pay["status"] == "captured"
    refunds = [
        row
        for gw in container.services.payments.gateways
        if hasattr(gw, "ledger")
        for row in gw.ledger()
        if row.get("op") == "refund"
    ]
    assert [r.get("amount") for r in refunds] == ["63.00"]
    stock = {sku: client.get(f"{API}/stock-items/{sku}").json() for sku, _, _ in PRODUCTS}
    assert {sku: s["on_hand"] for sku, s in stock.items()} == {"ECO-A": 10, "ECO-B": 9, "ECO-C": 8}
    [day] = container.readers.analytics.rows("sales:day")
    assert day["revenue"] == "36.00"  # 99.00 of goods sold, 63.00 refunded
    trail = client.get(
        f"{API}/audit/aggregates/{order_id}/events", headers=auth("auditor", "aud")
    ).json()
    assert [e["type"] for e in trail][-2:] == ["Order.ReturnOpened", "Order.ItemsReturned"]
    check_invariants(container.services)

    live = {name: snapshot(container.redis, name) for name in REDIS_PROJECTIONS}
    for name in REDIS_PROJECTIONS:
        rebuild(container, name)
        assert snapshot(container.redis, name) == live[name], name
