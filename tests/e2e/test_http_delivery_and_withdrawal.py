"""After the sale over HTTP: the carrier's steps reach the order, `delivered` opens the
withdrawal window (CDC art. 49) and a withdrawal of everything refunds the shipping too.
The windows' arithmetic under a moved clock is in tests/unit/test_delivery_and_withdrawal.py."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

from tests.e2e.test_http_checkout import ADDRESS, cart_with, payment, settle

API = "/api/v1"


def wait_for(client, auth, path: str, done, sub: str = "ana") -> dict:
    body: dict = {}
    for _ in range(200):
        body = client.get(f"{API}{path}", headers=auth(sub=sub)).json()
        if done(body):
            return body
        time.sleep(0.05)
    raise AssertionError(f"{path} never got there: {body}")


def shipped(client, auth) -> dict:
    cart_id = cart_with(client, auth, quantity=1)  # 129.90: shipping is charged
    placed = client.post(
        f"{API}/carts/{cart_id}/checkout",
        json={"shipping_address": ADDRESS, "payment": payment()},
        headers=auth(sub="ana"),
    )
    order_id = placed.json()["order_id"]
    assert settle(client, auth, order_id)["status"] == "confirmed"
    ship = {"carrier": "Correios", "tracking_code": "BR123"}
    response = client.post(f"{API}/orders/{order_id}/ship", json=ship, headers=auth("admin"))
    assert response.status_code == 202, response.text
    return wait_for(  # shipped, and the capture done (a refund waits for it: 409 meanwhile)
        client,
        auth,
        f"/orders/{order_id}",
        lambda o: o["status"] == "shipped" and o["payment"]["status"] == "captured",
    )


def track(client, auth, order_id: str, step: str, at: datetime):
    body = {"step": step, "at": at.isoformat()}
    return client.post(f"{API}/orders/{order_id}/tracking", json=body, headers=auth("admin"))


def test_tracking_steps_reach_the_order_and_a_late_report_changes_nothing(client, auth, product):
    order = shipped(client, auth)
    now = datetime.now(tz=UTC)
    assert track(client, auth, order["order_id"], "in_transit", now).json()["applied"] is True
    delivered = track(client, auth, order["order_id"], "delivered", now + timedelta(seconds=5))
    assert delivered.json()["applied"] is True
    late = track(client, auth, order["order_id"], "out_for_delivery", now + timedelta(seconds=2))
    assert (late.status_code, late.json()["applied"]) == (200, False)
    seen = wait_for(
        client, auth, f"/orders/{order['order_id']}", lambda o: o["status"] == "delivered"
    )
    assert [t["step"] for t in seen["tracking"]] == ["in_transit", "delivered"]
    assert seen["delivered_at"]


def test_a_withdrawal_of_everything_refunds_the_total_paid_shipping_included(client, auth, product):
    order = shipped(client, auth)
    order_id = order["order_id"]
    track(client, auth, order_id, "delivered", datetime.now(tz=UTC))
    wait_for(client, auth, f"/orders/{order_id}", lambda o: o["status"] == "delivered")
    asked = client.post(
        f"{API}/orders/{order_id}/returns",
        json={"lines": [{"sku": order["lines"][0]["sku"], "quantity": 1}], "kind": "withdrawal"},
        headers=auth(sub="ana"),
    )
    assert asked.status_code == 202, asked.text
    return_id = asked.json()["return_id"]
    for step in ("approve", "receive"):
        done = client.post(f"{API}/returns/{return_id}/{step}", headers=auth("admin"))
        assert done.status_code == 202, done.text
    shipping = order["totals"]["shipping"]
    assert shipping["amount"] != "0.00"
    back = wait_for(client, auth, f"/returns/{return_id}", lambda r: r.get("status") == "refunded")
    assert (back["kind"], back["shipping_refund"]) == ("withdrawal", shipping)
    after = wait_for(client, auth, f"/orders/{order_id}", lambda o: o["status"] == "returned")
    assert after["refunded_total"] == after["totals"]["total"]


def test_a_defect_return_before_delivery_or_tracking_an_unshipped_order_is_refused(
    client, auth, product
):
    order = shipped(client, auth)
    line = {"sku": order["lines"][0]["sku"], "quantity": 1}
    early = client.post(
        f"{API}/orders/{order['order_id']}/returns",
        json={"lines": [line], "kind": "defect", "reason": "quebrado"},
        headers=auth(sub="ana"),
    )
    assert early.status_code == 409
    assert "not delivered yet" in early.json()["detail"]
    unknown_kind = client.post(
        f"{API}/orders/{order['order_id']}/returns",
        json={"lines": [line], "kind": "arrependimento"},
        headers=auth(sub="ana"),
    )
    assert unknown_kind.status_code == 422
    cart_id = cart_with(client, auth, quantity=1)
    placed = client.post(
        f"{API}/carts/{cart_id}/checkout",
        json={"shipping_address": ADDRESS, "payment": payment()},
        headers=auth(sub="ana"),
    ).json()["order_id"]
    settle(client, auth, placed)
    refused = track(client, auth, placed, "delivered", datetime.now(tz=UTC))
    assert refused.status_code == 409


def test_without_a_carrier_a_label_is_refused_and_the_order_can_be_shipped_by_hand(
    client, auth, product
):
    cart_id = cart_with(client, auth, quantity=1)
    order_id = client.post(
        f"{API}/carts/{cart_id}/checkout",
        json={"shipping_address": ADDRESS, "payment": payment()},
        headers=auth(sub="ana"),
    ).json()["order_id"]
    settle(client, auth, order_id)
    refused = client.post(
        f"{API}/orders/{order_id}/label", json={"service_id": "2"}, headers=auth("admin")
    )
    assert refused.status_code == 409
    assert "ECOVAREJO_CARRIER" in refused.json()["detail"]
    hook = client.post(
        f"{API}/shipping/webhooks/melhorenvio",
        content=b"{}",
        headers={"Content-Type": "application/json"},
    )
    assert hook.status_code == 401


def test_a_product_is_classified_durable_or_not_and_anything_else_is_refused(client, auth, product):
    path = f"{API}/stock-items/{product['sku']}"
    created = auth(**{"X-Consistency-Token": product["consistency_token"]})
    assert client.get(path, headers=created).json()["durable"] is None
    for bad in ("no", 0, None):
        refused = client.patch(path, json={"durable": bad}, headers=auth("admin"))
        assert refused.status_code == (200 if bad is None else 422), refused.text
    answer = client.patch(path, json={"durable": False}, headers=auth("admin"))
    assert answer.status_code == 200, answer.text
    token = answer.json()["consistency_token"]
    seen = client.get(path, headers=auth(**{"X-Consistency-Token": token})).json()
    assert seen["durable"] is False
    by_customer = client.patch(path, json={"durable": True}, headers=auth(sub="ana"))
    assert by_customer.status_code == 403
