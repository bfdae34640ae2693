"""Labels and tracking over HTTP with Melhor Envio configured (its local fake, which follows
the documented API): an admin buys the label, which ships the order; the carrier's signed
webhooks move it to delivered; forged, unreadable, repeated and unknown ones change nothing."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

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
