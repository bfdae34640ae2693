"""Observability through the real app and servers: Prometheus metrics by route template,
command outcomes, the saga's outcomes and projection lag, and JSON access logs that carry
the correlation id and nothing personal."""

from __future__ import annotations

import io
import json
import logging
import time
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from api.http.access_log import access_log, json_handler
from api.http.app import create_app
from api.http.auth import issue_token
from tests.conftest import JWT_SECRET

API = "/api/v1"
ADDRESS = {"line1": "Rua A 1", "city": "Recife", "state": "PE", "postal_code": "50000-000"}


def card(number: str) -> dict:
    return {"card_number": number, "expiry": "12/39", "cvc": "123", "holder": "Ana Souza"}


def samples(client: TestClient, path: str = "/metrics") -> dict[tuple, float]:
    admin = {"Authorization": f"Bearer {issue_token(JWT_SECRET, 'ops', 'admin', 600)}"}
    response = client.get(path, headers=admin)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    found = {}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def value(found: dict[tuple, float], name: str, **labels: str) -> float | None:
    return found.get((name, tuple(sorted(labels.items()))))


def place_order(client: TestClient, auth, number: str, sub: str = "ana") -> str:
    headers = auth(sub=sub)
    cart_id = client.post(f"{API}/carts", json={}, headers=headers).json()["cart_id"]
    line = {"sku": "ECO-0100", "quantity": 1}
    assert client.post(f"{API}/carts/{cart_id}/items", json=line, headers=headers).is_success
    checkout = {"shipping_address": ADDRESS, "payment": card(number)}
    response = client.post(f"{API}/carts/{cart_id}/checkout", json=checkout, headers=headers)
    assert response.status_code == 202, response.text
    return response.json()["order_id"]


def eventually(check, timeout: float = 10.0):
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result or time.monotonic() > deadline:
            return result
        time.sleep(0.05)


@pytest.fixture
def access_lines() -> Iterator[io.StringIO]:
    stream = io.StringIO()
    handler = json_handler(stream)
    access_log.addHandler(handler)
    access_log.setLevel(logging.INFO)
    yield stream
    access_log.removeHandler(handler)


def test_requests_are_counted_by_route_template_and_status(client, auth, product):
    sku = product["sku"]
    # Read after the write: without the token the first read may come before the projection.
    after_write = {**auth(), "X-Consistency-Token": str(product["consistency_token"])}
    for _ in range(3):
        assert client.get(f"{API}/stock-items/{sku}", headers=after_write).status_code == 200
    client.get(f"{API}/stock-items/ECO-4040", headers=auth())
    client.get(f"{API}/nowhere/at/all")
    found = samples(client)
    route = f"{API}/stock-items/{{sku}}"
    labels = {"method": "GET", "route": route}
    assert value(found, "ecovarejo_http_requests_total", status="200", **labels) == 3
    assert value(found, "ecovarejo_http_requests_total", status="404", **labels) == 1
    assert value(found, "ecovarejo_http_request_duration_seconds_count", status="200", **labels)
    assert value(
        found, "ecovarejo_http_requests_total", method="GET", route="unmatched", status="404"
    )
    assert not any(sku in str(key) or "ECO-4040" in str(key) for key in found)


def test_command_outcomes_are_counted(client, auth, product):
    client.post(f"{API}/carts", json={}, headers={**auth(), "Idempotency-Key": "m-1"})
    client.post(f"{API}/carts", json={}, headers={**auth(), "Idempotency-Key": "m-1"})
    client.post(f"{API}/carts", json={}, headers=auth("admin"))
    client.post(f"{API}/stock-items", json={"sku": "x"}, headers=auth("admin"))
    found = samples(client)
    total = "ecovarejo_commands_total"
    assert value(found, total, command="create_cart", outcome="accepted") == 1
    assert value(found, total, command="register_stock_item", outcome="accepted") == 1
    assert value(found, total, command="create_cart", outcome="replayed") == 1
    assert value(found, total, command="create_cart", outcome="forbidden") == 1
    assert value(found, total, command="register_stock_item", outcome="invalid") == 1


def test_the_sagas_outcomes_and_projection_lag_are_exposed(client, auth, product):
    place_order(client, auth, "4242424242424242")
    place_order(client, auth, "4000000000000002")

    def settled() -> dict | None:
        found = samples(client, f"{API}/metrics")
        confirmed = value(found, "ecovarejo_orders", status="confirmed")
        declined = value(found, "ecovarejo_orders_cancelled", reason="payment_declined")
        pending = value(found, "ecovarejo_orders", status="pending")
        # The gauges are read one after the other: wait for a sample taken after both moved.
        return found if (confirmed, declined, pending) == (1, 1, 0) else None

    found = eventually(settled)
    assert found, "the orders never showed as confirmed and cancelled"
    assert value(found, "ecovarejo_orders", status="pending") == 0
    assert value(found, "ecovarejo_orders", status="cancelled") == 1
    container = client.app.state.container
    assert container.wait_for_projections(container.head_position())
    found = samples(client)
    head = value(found, "ecovarejo_event_store_head")
    assert head is not None
    assert head >= container.head_position() - 5
    for name in container.projection_positions():
        position = value(found, "ecovarejo_projection_position", projection=name)
        lag = value(found, "ecovarejo_projection_lag_events", projection=name)
        assert position is not None
        assert lag == head - position
        assert lag >= 0
        assert value(found, "ecovarejo_runner_up", runner=name) == 1


def test_each_app_keeps_its_own_registry(container, client, auth, product):
    with TestClient(create_app(container)) as other:
        other.get(f"{API}/stock-items/{product['sku']}", headers=auth())
        other.get(f"{API}/stock-items/{product['sku']}", headers=auth())
        mine = samples(client)
        theirs = samples(other)
    labels = {"method": "GET", "route": f"{API}/stock-items/{{sku}}", "status": "200"}
    assert value(mine, "ecovarejo_http_requests_total", **labels) is None
    assert value(theirs, "ecovarejo_http_requests_total", **labels) == 2


def test_each_request_is_one_json_log_line_with_its_correlation_id(
    client, auth, product, access_lines
):
    headers = {**auth(sub="cliente-secreto-77"), "X-Correlation-ID": "corr-42"}
    cart_id = client.post(f"{API}/carts", json={}, headers=headers).json()["cart_id"]
    client.post(
        f"{API}/carts/{cart_id}/items", json={"sku": "ECO-0100", "quantity": 1}, headers=headers
    )
    checkout = {"shipping_address": ADDRESS, "payment": card("4242424242424242")}
    client.post(f"{API}/carts/{cart_id}/checkout", json=checkout, headers=headers)
    lines = [json.loads(line) for line in access_lines.getvalue().splitlines()]
    assert [line["route"] for line in lines] == [
        f"{API}/carts",
        f"{API}/carts/{{cart_id}}/items",
        f"{API}/carts/{{cart_id}}/checkout",
    ]
    for line in lines:
        assert line["correlation_id"] == "corr-42"
        assert line["method"] == "POST"
        assert line["role"] == "customer"
        assert line["status"] in (200, 201, 202)
        assert line["duration_ms"] >= 0
        assert line["request_id"]
        assert line["level"] == "info"
    text = access_lines.getvalue()
    token = headers["Authorization"].removeprefix("Bearer ")
    for secret in ("4242424242424242", token, "Bearer", "cliente-secreto-77", cart_id, "Rua A"):
        assert secret not in text


def test_an_unexpected_error_is_logged_with_its_correlation_id_and_no_card(
    client, auth, monkeypatch
):
    stream = io.StringIO()
    handler = json_handler(stream)
    edge_log = logging.getLogger("ecovarejo.edge")
    edge_log.addHandler(handler)

    def explode(*_: object) -> None:
        raise RuntimeError("card 4242424242424242 went wrong")

    monkeypatch.setattr(client.app.state.container.services.checkout, "create_cart", explode)
    try:
        headers = {**auth(), "X-Correlation-ID": "corr-500"}
        assert client.post(f"{API}/carts", json={}, headers=headers).status_code == 500
    finally:
        edge_log.removeHandler(handler)
    entry = json.loads(stream.getvalue().splitlines()[0])
    assert entry["correlation_id"] == "corr-500"
    assert entry["level"] == "error"
    assert entry["error"] == "RuntimeError"
    assert "4242424242424242" not in stream.getvalue()
    assert "[card redacted]" in entry["traceback"]
