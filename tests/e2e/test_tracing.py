"""One trace per checkout: the HTTP request, every saga step, effect, actor and projector
that follows from it form one tree (the SDK's in-memory exporter collects the spans)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from uuid import UUID

import pytest
from fastapi.testclient import TestClient
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from api.http.app import create_app
from domain.base import EventMetadata, event_context
from infrastructure.bootstrap import bootstrap
from infrastructure.observability import tracing
from tests.checkout import register
from tests.e2e.test_edge_observability import ADDRESS, API, card


@pytest.fixture
def spans() -> Iterator[InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    tracing.install(SimpleSpanProcessor(exporter))
    yield exporter
    tracing.uninstall()


@pytest.fixture
def traced_client(settings, spans) -> Iterator[TestClient]:
    system = bootstrap(settings)
    system.start_processing()
    try:
        with TestClient(create_app(system)) as client:
            yield client
    finally:
        system.close()


def checkout(client: TestClient, auth, number: str) -> tuple[str, str]:
    headers = auth(sub="ana")
    cart_id = client.post(f"{API}/carts", json={}, headers=headers).json()["cart_id"]
    line = {"sku": "ECO-1", "quantity": 1}
    assert client.post(f"{API}/carts/{cart_id}/items", json=line, headers=headers).is_success
    body = {"shipping_address": ADDRESS, "payment": card(number)}
    response = client.post(f"{API}/carts/{cart_id}/checkout", json=body, headers=headers)
    assert response.status_code == 202, response.text
    return response.json()["order_id"], response.headers["traceparent"].split("-")[1]


def spans_of(exporter: InMemorySpanExporter, trace_id: str, names: set[str], timeout=20.0):
    deadline = time.monotonic() + timeout
    while True:
        found = [
            s for s in exporter.get_finished_spans() if f"{s.context.trace_id:032x}" == trace_id
        ]
        if names <= {s.name for s in found} or time.monotonic() > deadline:
            return found
        time.sleep(0.05)


def test_a_checkouts_spans_form_one_tree_from_the_request_to_the_actors(traced_client, spans, auth):
    with event_context(EventMetadata("admin:ops")):
        register(traced_client.app.state.container.services, "ECO-1", 5)
    order_id, trace_id = checkout(traced_client, auth, "4242424242424242")
    expected = {
        f"POST {API}/carts/{{cart_id}}/checkout",
        "CheckoutSaga Order.Placed",
        "effects Payment.Requested",
        "actor authorize_payment",
        "CheckoutSaga Payment.Authorized",
        "effects Order.Confirmed",
        "actor notify_order",
        "orders Order.Confirmed",
    }
    found = spans_of(spans, trace_id, expected)
    names = {s.name for s in found}
    assert expected <= names, "\n".join(sorted(names))
    ids = {s.context.span_id for s in found}
    roots = [s for s in found if s.parent is None]
    assert [r.name for r in roots] == [f"POST {API}/carts/{{cart_id}}/checkout"]
    orphans = [s.name for s in found if s.parent is not None and s.parent.span_id not in ids]
    assert not orphans, orphans
    saga = next(s for s in found if s.name == "CheckoutSaga Order.Placed")
    assert saga.attributes["ecovarejo.aggregate_id"] == order_id
    # the other requests of the session are traces of their own
    assert len({f"{s.context.trace_id:032x}" for s in spans.get_finished_spans()}) > 1


def test_a_callers_traceparent_is_continued(traced_client, spans, auth):
    caller = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
    response = traced_client.post(
        f"{API}/carts", json={}, headers={**auth(sub="ana"), "traceparent": caller}
    )
    assert response.status_code == 201
    assert response.headers["traceparent"].split("-")[1] == "0af7651916cd43dd8448eb211c80319c"


def test_without_an_otlp_endpoint_nothing_is_traced(settings, monkeypatch, container, auth):
    monkeypatch.delenv("OTEL_EXPORTER_OTLP_ENDPOINT", raising=False)
    assert tracing.configure_from_env("ecovarejo") is False
    assert not tracing.enabled()
    with TestClient(create_app(container)) as client:
        response = client.post(f"{API}/carts", json={}, headers=auth(sub="ana"))
    assert "traceparent" not in response.headers
    cart_id = UUID(response.json()["cart_id"])
    event = next(iter(container.services.store.repository.event_store.get(cart_id)))
    assert not hasattr(event, "trace_parent")
