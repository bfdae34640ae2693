"""Issue 29: after the sandbox's card flows — tokens made by its SDK's endpoint, a checkout
with a token, the raw fields of development, a decline, 3-D Secure through the issuer's
page, a capture — no card number and no holder's name is anywhere the system writes: the
whole data dir (embedded PostgreSQL's tables and logs, Redis' files), a pg_dump, every
Redis key and value, and every log line. Positive controls show each search finds what is
there."""

from __future__ import annotations

import io
import logging
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.http.access_log import json_handler
from api.http.app import create_app
from infrastructure.bootstrap import Container, bootstrap
from infrastructure.settings import Settings
from tests.conftest import JWT_SECRET
from tests.e2e.conftest import PRODUCT, issue_token
from tests.e2e.test_backup_restore import settled
from tests.e2e.test_erasure_leaves_nothing import (
    checkpoint,
    files_holding,
    pg_dump,
    redis_values,
    wait_for_redis_files,
)

API = "/api/v1"
APPROVED, THREE_DS, DECLINED = "4242424242424242", "4000002500003155", "4000000000000002"
RAW, NOT_A_CARD = "5555555555554444", "4242424242424241"  # the last fails the Luhn check
HOLDER = "Joaquina Plastificada Cartaozinho"
CARDS = [APPROVED, THREE_DS, DECLINED, RAW, NOT_A_CARD]
ADDRESS = {
    "line1": "Rua das Flores 10",
    "line2": "",
    "city": "Recife",
    "state": "PE",
    "postal_code": "50050-000",
    "country": "BR",
}


@pytest.fixture
def system(tmp_path: Path) -> Iterator[Container]:
    """Embedded PostgreSQL and Redis in a data dir of its own, processing (as `make run`)."""
    settings = Settings(
        ECOVAREJO_DATA_DIR=tmp_path / "data",
        ECOVAREJO_JWT_SECRET=JWT_SECRET,
        ECOVAREJO_PAYMENT_TIMEOUT_S=30,
        DATABASE_URL=None,
        REDIS_URL=None,
    )
    built = bootstrap(settings)
    try:
        built.start_processing()
        yield built
    finally:
        built.close()


@pytest.fixture
def logs() -> Iterator[io.StringIO]:
    """Every log line of every logger, as the processes write them (JSON lines)."""
    stream = io.StringIO()
    handler = json_handler(stream)
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    yield stream
    root.removeHandler(handler)
    root.setLevel(level)


def headers(role: str = "customer", sub: str = "bia") -> dict[str, str]:
    return {"Authorization": f"Bearer {issue_token(JWT_SECRET, sub, role, 600)}"}


def card(number: str) -> dict[str, str]:
    return {"card_number": number, "expiry": "12/39", "cvc": "123", "holder": HOLDER}


def checkout(client: TestClient, payment: dict) -> dict:
    cart = client.post(f"{API}/carts", json={}, headers=headers()).json()["cart_id"]
    added = client.post(
        f"{API}/carts/{cart}/items", json={"sku": PRODUCT["sku"], "quantity": 1}, headers=headers()
    )
    assert added.status_code in (200, 201), added.text
    placed = client.post(
        f"{API}/carts/{cart}/checkout",
        json={"shipping_address": ADDRESS, "payment": payment},
        headers=headers(),
    )
    assert placed.status_code == 202, placed.text
    return decided(client, placed.json()["order_id"])


def decided(client: TestClient, order_id: str, still: str = "pending") -> dict:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        order = client.get(f"{API}/orders/{order_id}", headers=headers()).json()
        if "order_id" in order and order["status"] != still:  # a 404 until projected
            return dict(order)
        time.sleep(0.05)
    raise AssertionError(f"order {order_id} stayed {still}")


def token(client: TestClient, number: str) -> str:
    made = client.post(f"{API}/payments/sandbox/tokens", json=card(number))
    assert made.status_code == 201, made.text
    return str(made.json()["card_token"])


def sandbox_flows(client: TestClient) -> None:
    made = client.post(f"{API}/stock-items", json=PRODUCT, headers=headers("admin", "adm"))
    assert made.status_code == 201, made.text
    paid = checkout(client, {"method": "card", "card_token": token(client, APPROVED)})
    assert paid["status"] == "confirmed", paid
    shipped = client.post(
        f"{API}/orders/{paid['order_id']}/ship",
        json={"carrier": "Correios", "tracking_code": "BR1"},
        headers=headers("admin", "adm"),
    )
    assert shipped.status_code == 202, shipped.text

    declined = checkout(client, {"method": "card", "card_token": token(client, DECLINED)})
    assert declined["cancellation_reason"] == "payment_declined"
    raw = checkout(client, {"method": "card", **card(RAW)})  # development's raw fields
    assert raw["status"] == "confirmed", raw
    refused = client.post(f"{API}/payments/sandbox/tokens", json=card(NOT_A_CARD))
    assert refused.status_code == 422
    assert NOT_A_CARD not in refused.text

    challenged = checkout(client, {"method": "card", "card_token": token(client, THREE_DS)})
    payment_id = challenged["payment"]["payment_id"]
    action = client.get(f"{API}/payments/{payment_id}/authentication", headers=headers())
    page = action.json()["redirect_url"]
    assert client.get(page).status_code == 200
    assert client.post(page, data={"authenticated": "true"}).status_code == 200
    confirmed = client.post(
        f"{API}/payments/{payment_id}/authentication", json={}, headers=headers()
    )
    assert confirmed.json()["status"] == "authorized", confirmed.text
    assert decided(client, challenged["order_id"], "awaiting_authentication")["status"] == (
        "confirmed"
    )


def test_after_the_sandbox_flows_no_card_number_is_anywhere(system, logs, tmp_path):
    with TestClient(create_app(system), raise_server_exceptions=False) as client:
        sandbox_flows(client)
    settled(system)
    data_dir = system.settings.data_dir
    marker = PRODUCT["name"].encode()
    wait_for_redis_files(data_dir / "redis", marker, present=True)  # positive controls
    checkpoint(system)
    dump = pg_dump(system, tmp_path / "all.sql")
    values = redis_values(system.redis)
    written = logs.getvalue().encode()
    assert marker in dump
    assert marker in values
    assert files_holding(data_dir / "postgres", marker)
    assert b"/api/v1/payments/sandbox/tokens" in written  # the log saw the tokenizations
    for needle in [*CARDS, HOLDER]:
        raw = needle.encode()
        assert raw not in dump, needle
        assert raw not in values, needle
        assert raw not in written, needle
        assert files_holding(data_dir, raw) == [], needle
