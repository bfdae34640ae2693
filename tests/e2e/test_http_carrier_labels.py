"""Labels and tracking over HTTP with Melhor Envio configured (its local fake, which follows
the documented API): an admin buys the label, which ships the order; the carrier's signed
webhooks move it to delivered; forged, unreadable, repeated and unknown ones change nothing."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from uuid import UUID

import pytest

from domain.base import EventMetadata, event_context
from infrastructure.settings import Settings
from tests.e2e.conftest import configured
from tests.e2e.test_http_checkout import ADDRESS, cart_with, payment, settle
from tests.e2e.test_http_delivery_and_withdrawal import wait_for
from tests.fakes.melhor_envio import FakeMelhorEnvio

API = "/api/v1"


@pytest.fixture
def carrier_server() -> Iterator[FakeMelhorEnvio]:
    with FakeMelhorEnvio() as server:
        yield server


@pytest.fixture
def settings(
    database_url: str, redis_url: str, tmp_path: Path, carrier_server: FakeMelhorEnvio
) -> Settings:
    return configured(
        database_url,
        redis_url,
        tmp_path,
        ECOVAREJO_CARRIER="melhorenvio",
        ECOVAREJO_MELHORENVIO_TOKEN=carrier_server.token,
        ECOVAREJO_MELHORENVIO_WEBHOOK_SECRET=carrier_server.secret,
        ECOVAREJO_MELHORENVIO_API_BASE=carrier_server.url,
        ECOVAREJO_CARRIER_TIMEOUT_S=1,
    )


def confirmed(client, auth) -> str:
    cart_id = cart_with(client, auth, quantity=1)
    placed = client.post(
        f"{API}/carts/{cart_id}/checkout",
        json={"shipping_address": ADDRESS, "payment": payment()},
        headers=auth(sub="ana"),
    )
    order_id = placed.json()["order_id"]
    assert settle(client, auth, order_id)["status"] == "confirmed"
    return order_id


def hook(client, headers: dict[str, str], body: bytes):
    return client.post(f"{API}/shipping/webhooks/melhorenvio", content=body, headers=headers)


def test_a_bought_label_ships_the_order_and_the_carriers_webhooks_deliver_it(
    client, auth, product, carrier_server
):
    order_id = confirmed(client, auth)
    bought = client.post(
        f"{API}/orders/{order_id}/label", json={"service_id": "2"}, headers=auth("admin")
    )
    assert bought.status_code == 202, bought.text
    shipped = wait_for(client, auth, f"/orders/{order_id}", lambda o: o["status"] == "shipped")
    assert shipped["carrier"] == "Correios SEDEX"
    assert shipped["tracking_code"].startswith("ME")
    (label_id,) = carrier_server.orders
    assert carrier_server.orders[label_id]["tags"] == [{"tag": order_id, "url": None}]
    now = datetime.now(tz=UTC)
    posted = hook(client, *carrier_server.webhook(label_id, "order.posted", now))
    assert posted.json() == {"outcome": "applied", "order_id": order_id}
    signed = carrier_server.webhook(label_id, "order.delivered", now + timedelta(minutes=5))
    assert hook(client, *signed).json()["outcome"] == "applied"
    assert hook(client, *signed).json()["outcome"] == "ignored"  # delivered twice
    delivered = wait_for(client, auth, f"/orders/{order_id}", lambda o: o["status"] == "delivered")
    assert [t["step"] for t in delivered["tracking"]] == ["in_transit", "delivered"]


def test_forged_unreadable_and_unknown_webhooks_change_nothing(
    client, auth, product, carrier_server
):
    order_id = confirmed(client, auth)
    client.post(f"{API}/orders/{order_id}/label", json={"service_id": "1"}, headers=auth("admin"))
    (label_id,) = carrier_server.orders
    headers, body = carrier_server.webhook(label_id, "order.delivered", datetime.now(tz=UTC))
    forged = hook(client, headers, body.replace(b"delivered", b"cancelled"))
    assert forged.status_code == 401
    assert hook(client, {"Content-Type": "application/json"}, body).status_code == 401
    carrier_server.orders["someone-else"] = {**carrier_server.orders[label_id], "id": "x"}
    unknown = carrier_server.webhook("someone-else", "order.delivered", datetime.now(tz=UTC))
    assert hook(client, *unknown).json()["outcome"] == "unknown_label"
    order = wait_for(client, auth, f"/orders/{order_id}", lambda o: o["status"] == "shipped")
    assert order["tracking"] == []
    other = client.post(f"{API}/shipping/webhooks/correios", content=body, headers=headers)
    assert other.status_code == 401


def test_a_carrier_outage_buys_nothing_and_leaves_the_order_confirmed(
    client, auth, product, carrier_server
):
    order_id = confirmed(client, auth)
    carrier_server.faults.append("500")
    failed = client.post(
        f"{API}/orders/{order_id}/label", json={"service_id": "2"}, headers=auth("admin")
    )
    assert failed.status_code == 503
    assert failed.headers["content-type"].startswith("application/problem+json")
    assert client.get(f"{API}/orders/{order_id}", headers=auth("admin")).json()["status"] == (
        "confirmed"
    )


@pytest.mark.parametrize(
    ("faults", "cut"),
    [
        (["pass", "pass", "500"], "before the payment"),
        (["pass", "pass", "pass", "500"], "after the payment"),
    ],
)
def test_a_purchase_cut_short_resumes_with_the_same_label_and_never_pays_twice(
    client, auth, product, carrier_server, faults, cut
):
    order_id = confirmed(client, auth)
    carrier_server.faults.extend(faults)
    failed = client.post(
        f"{API}/orders/{order_id}/label", json={"service_id": "2"}, headers=auth("admin")
    )
    assert failed.status_code == 503, cut
    (label_id,) = carrier_server.orders  # in the cart, recorded on the order
    if cut == "before the payment":  # the admin asks again
        again = client.post(
            f"{API}/orders/{order_id}/label", json={"service_id": "2"}, headers=auth("admin")
        )
        assert again.status_code == 202, again.text
    else:  # the worker's `resume_label_purchase`, a while after the request
        with event_context(EventMetadata("system:effects")):
            assert client.app.state.container.services.labels.resume_label_purchase(UUID(order_id))
    wait_for(client, auth, f"/orders/{order_id}", lambda o: o["status"] == "shipped")
    assert list(carrier_server.orders) == [label_id]
    assert [row["op"] for row in carrier_server.ledger] == ["cart", "purchase"]
    other = client.post(
        f"{API}/orders/{order_id}/label", json={"service_id": "1"}, headers=auth("admin")
    )
    assert other.status_code == 409  # shipped already
    trail = client.get(f"{API}/audit/aggregates/{order_id}/events", headers=auth("auditor"))
    steps = [e["type"] for e in trail.json() if "Label" in e["type"]]
    assert steps == ["Order.LabelRequested", "Order.LabelOpened", "Order.LabelBought"]


def test_a_withdrawal_gets_a_return_label_paid_by_the_shop(client, auth, product, carrier_server):
    profile = {
        "name": "Ana Souza",
        "email": "ana@example.com.br",
        "phone": "+5581998765432",
        "cpf": "529.982.247-25",
    }
    assert client.put(f"{API}/customers/me", json=profile, headers=auth(sub="ana")).is_success
    order_id = confirmed(client, auth)
    client.post(f"{API}/orders/{order_id}/label", json={"service_id": "3"}, headers=auth("admin"))
    order = wait_for(client, auth, f"/orders/{order_id}", lambda o: o["status"] == "shipped")
    (sent,) = carrier_server.orders
    hook(client, *carrier_server.webhook(sent, "order.delivered", datetime.now(tz=UTC)))
    wait_for(client, auth, f"/orders/{order_id}", lambda o: o["status"] == "delivered")
    asked = client.post(
        f"{API}/orders/{order_id}/returns",
        json={"lines": [{"sku": order["lines"][0]["sku"], "quantity": 1}], "kind": "withdrawal"},
        headers=auth(sub="ana"),
    )
    return_id = asked.json()["return_id"]
    early = client.post(f"{API}/returns/{return_id}/label", json={}, headers=auth("admin"))
    assert early.status_code == 409  # not approved yet
    client.post(f"{API}/returns/{return_id}/approve", headers=auth("admin"))
    by_ana = client.post(f"{API}/returns/{return_id}/label", json={}, headers=auth(sub="ana"))
    assert by_ana.status_code == 403
    jadlog = client.post(
        f"{API}/returns/{return_id}/label", json={"service_id": "3"}, headers=auth("admin")
    )
    assert jadlog.status_code == 422  # reverse logistics goes by PAC or SEDEX
    label = client.post(f"{API}/returns/{return_id}/label", json={}, headers=auth("admin"))
    assert label.status_code == 201, label.text
    body = label.json()
    assert body["tracking_code"].startswith("ME")
    assert body["label_url"].endswith(body["label_id"])
    assert carrier_server.orders[body["label_id"]]["reverse_of"] == sent
    assert [row["op"] for row in carrier_server.ledger].count("purchase") == 2
    seen = wait_for(
        client, auth, f"/returns/{return_id}", lambda r: r.get("return_tracking_code") is not None
    )
    assert seen["return_tracking_code"] == body["tracking_code"]
    twice = client.post(f"{API}/returns/{return_id}/label", json={}, headers=auth("admin"))
    assert twice.status_code == 409


def test_checkout_charges_the_carriers_quote_and_the_table_answers_when_it_is_down(
    client, auth, product, carrier_server
):
    cart_id = cart_with(client, auth, quantity=1)  # 129.90: shipping is charged
    quoted = client.post(
        f"{API}/carts/{cart_id}/shipping-quote",
        json={"postal_code": ADDRESS["postal_code"]},
        headers=auth(sub="ana"),
    )
    assert quoted.status_code == 200, quoted.text
    express = next(o for o in quoted.json()["options"] if o["method"] == "express")
    assert (express["carrier"], express["service"], express["service_id"]) == (
        "Correios",
        "SEDEX",
        "2",
    )
    placed = client.post(
        f"{API}/carts/{cart_id}/checkout",
        json={"shipping_address": ADDRESS, "payment": payment(), "shipping_method": "express"},
        headers=auth(sub="ana"),
    )
    assert placed.status_code == 202, placed.text
    order = settle(client, auth, placed.json()["order_id"])
    assert order["totals"]["shipping"] == express["price"]

    other = cart_with(client, auth, sub="bia", quantity=1)
    carrier_server.faults.append("500")
    fallback = client.post(
        f"{API}/carts/{other}/shipping-quote",
        json={"postal_code": ADDRESS["postal_code"]},
        headers=auth(sub="bia"),
    ).json()["options"]
    assert all(o["carrier"] is None for o in fallback)  # the rates table's
    standard = next(o for o in fallback if o["method"] == "standard")
    placed = client.post(
        f"{API}/carts/{other}/checkout",
        json={"shipping_address": ADDRESS, "payment": payment()},
        headers=auth(sub="bia"),
    )
    assert (
        settle(client, auth, placed.json()["order_id"], sub="bia")["totals"]["shipping"]
        == (standard["price"])
    )


def test_a_service_the_carrier_refuses_leaves_the_order_free_to_ask_another(
    client, auth, product, carrier_server
):
    order_id = confirmed(client, auth)
    refused = client.post(
        f"{API}/orders/{order_id}/label", json={"service_id": "99"}, headers=auth("admin")
    )
    assert refused.status_code == 409, refused.text
    assert "invalid" in refused.json()["detail"]
    assert carrier_server.orders == {}  # nothing in its cart
    bought = client.post(
        f"{API}/orders/{order_id}/label", json={"service_id": "1"}, headers=auth("admin")
    )
    assert bought.status_code == 202, bought.text
