"""Public integration events on the real RabbitMQ (RABBITMQ_URL, as tests/e2e/test_two_workers.py):
orders placed, paid, cancelled, a product running low and a customer erased reach a queue
bound to the topic exchange as CloudEvents matching docs/events/, in per-order order, with
no personal data; stopping and restarting the publisher loses and reorders nothing; a broker
that is down parks the publisher (its lag grows) without holding up the write side."""

from __future__ import annotations

import json
import re
import socket
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pika
import pytest
from fastapi.testclient import TestClient
from jsonschema import Draft202012Validator
from pydantic import SecretStr

from api.http.app import create_app
from application.integration_events import PUBLIC_TYPES
from domain.base import EventMetadata, event_context
from domain.card import Address, CardDetails
from domain.customer import Profile
from infrastructure.bootstrap import Container, bootstrap
from infrastructure.read_stores.projection_admin import statuses
from infrastructure.settings import Settings
from tests.checkout import register, settled, wait_until
from tests.e2e.test_two_workers import rabbitmq_url

SCHEMAS = Path(__file__).resolve().parents[2] / "docs" / "events"
ADMIN = EventMetadata("admin:ops", "c-events", "test")
TAG = uuid.uuid4().hex[:8]
SECRETS = (  # personal data the orders carry, none of which may leave
    f"Rua Sigilosa {TAG}",
    f"Cidade{TAG}",
    f"Fulana Sigilosa {TAG}",
    f"fulana.{TAG}@example.com.br",
    "52998224725",
    "Titular Do Cartao",
    "4242424242424242",
    f"mudei de ideia {TAG}",
)


@pytest.fixture
def broker_settings(settings: Settings) -> Settings:
    exchange = f"ecovarejo.events.test-{uuid.uuid4().hex[:8]}"
    return settings.model_copy(update={"events_url": rabbitmq_url(), "events_exchange": exchange})


class Subscriber:
    """A consumer's queue bound to every event of the exchange (`#`)."""

    def __init__(self, url: str, exchange: str):
        self.connection = pika.BlockingConnection(pika.URLParameters(url))
        self.channel = self.connection.channel()
        self.channel.exchange_declare(exchange, exchange_type="topic", durable=True)
        self.queue = f"{exchange}.all"
        self.channel.queue_declare(self.queue, auto_delete=False)
        self.channel.queue_bind(self.queue, exchange, routing_key="#")
        self.exchange = exchange
        self.received: list[dict[str, Any]] = []

    def drain(self) -> list[dict[str, Any]]:
        while True:
            method, properties, body = self.channel.basic_get(self.queue, auto_ack=True)
            if method is None:
                return self.received
            assert properties.content_type == "application/cloudevents+json"
            event = json.loads(body)
            assert method.routing_key == event["type"].removeprefix("br.com.ecovarejo.")
            self.received.append(event)

    def until(self, wanted: set[tuple[str, str]], timeout: float = 60) -> list[dict[str, Any]]:
        """Drain until every (type, subject) in `wanted` arrived."""

        def arrived() -> bool:
            return wanted <= {(short(e), e["subject"]) for e in self.drain()}

        wait_until(arrived, timeout, what=f"integration events {sorted(wanted)}")
        return self.received

    def close(self) -> None:
        self.channel.queue_delete(self.queue)
        self.channel.exchange_delete(self.exchange)
        self.connection.close()


@pytest.fixture
def subscriber(broker_settings: Settings) -> Iterator[Subscriber]:
    assert broker_settings.events_url is not None
    found = Subscriber(broker_settings.events_url, broker_settings.events_exchange)
    yield found
    found.close()


def short(event: dict[str, Any]) -> str:
    return str(event["type"]).removeprefix("br.com.ecovarejo.").removesuffix(".v1")


def running(settings: Settings) -> Container:
    container = bootstrap(settings)
    container.start_processing()
    return container


def checkout(container: Container, customer: str, quantity: int = 1) -> uuid.UUID:
    services = container.services
    services.customers.update_profile(
        customer,
        Profile.parse(f"Fulana Sigilosa {TAG}", f"fulana.{TAG}@example.com.br", "", "52998224725"),
    )
    cart_id = services.checkout.create_cart(customer).aggregate_id
    services.checkout.add_cart_item(cart_id, customer, "ECO-1", quantity)
    address = Address(f"Rua Sigilosa {TAG}", "", f"Cidade{TAG}", "PE", "50010-000")
    card = CardDetails("4242424242424242", "12/39", "123", "Titular Do Cartao")
    return services.checkout.checkout(cart_id, customer, address, card).aggregate_id


def check_contract(events: list[dict[str, Any]]) -> None:
    """Every event matches its schema; no personal data anywhere in the bytes."""
    validators = {
        t: Draft202012Validator(json.loads((SCHEMAS / f"{t}.schema.json").read_text()))
        for t in PUBLIC_TYPES
    }
    for event in events:
        validators[event["type"].removeprefix("br.com.ecovarejo.")].validate(event)
    text = json.dumps(events, ensure_ascii=False)
    for secret in SECRETS:
        assert secret not in text, secret


def in_log_order_per_order(events: list[dict[str, Any]]) -> dict[str, list[str]]:
    """Each order's events (duplicates of a redelivery dropped by id), checked to arrive in
    log order; by order id, their short types."""
    seen: set[str] = set()
    by_order: dict[str, list[dict[str, Any]]] = {}
    for event in events:
        if event["id"] in seen:
            continue
        seen.add(event["id"])
        if short(event).startswith(("order.", "payment.")):
            by_order.setdefault(event["subject"], []).append(event)
    for order_events in by_order.values():
        positions = [int(e["sequence"]) for e in order_events]
        assert positions == sorted(positions), order_events
    return {k: [short(e) for e in v] for k, v in by_order.items()}


def test_orders_placed_paid_cancelled_and_erased_reach_a_bound_queue_as_cloudevents(
    broker_settings: Settings, subscriber: Subscriber
) -> None:
    container = running(broker_settings)
    try:
        services = container.services
        register(services, "ECO-1", 7)  # 7 → 6 → 5 → 3: below 5 once, "stock low" once
        shipped = checkout(container, f"ana-{TAG}")
        cancelled = checkout(container, f"bia-{TAG}")
        erased = checkout(container, f"caio-{TAG}", quantity=2)
        wait_until(lambda: settled(services), what="the checkouts", timeout=60)
        services.orders.ship_order(shipped, "Correios", "BR123456789BR")
        wait_until(lambda: settled(services), what="the capture", timeout=60)
        services.orders.track_order(shipped, "in_transit", datetime.now(tz=UTC))  # not published
        services.orders.track_order(shipped, "delivered", datetime.now(tz=UTC))
        services.orders.cancel_order(cancelled, f"bia-{TAG}", f"mudei de ideia {TAG}")
        with event_context(ADMIN):
            assert (
                services.data_subjects.erase_personal_data(f"caio-{TAG}", "admin:ops").status
                == "erased"
            )
        events = subscriber.until(
            {
                ("payment.captured", str(shipped)),
                ("order.delivered", str(shipped)),
                ("order.cancelled", str(cancelled)),
                ("order.confirmed", str(erased)),
                ("stock.low", "ECO-1"),
            }
        )
        wait_until(lambda: any(short(e) == "customer.erased" for e in subscriber.drain()))
        events = subscriber.received
    finally:
        container.close()
    check_contract(events)
    orders = in_log_order_per_order(events)
    assert orders[str(shipped)] == [
        "order.placed",
        "order.confirmed",
        "order.shipped",
        "payment.captured",
        "order.delivered",
    ]
    assert orders[str(cancelled)] == ["order.placed", "order.confirmed", "order.cancelled"]
    assert orders[str(erased)] == ["order.placed", "order.confirmed"]
    customers = {e["data"]["customer"] for e in events if short(e) == "order.placed"}
    erasures = [e["data"]["customer"] for e in events if short(e) == "customer.erased"]
    assert len(customers) == 3  # one pseudonym per customer, none of them the login
    assert len(erasures) == 1
    assert erasures[0] in customers  # a consumer knows whose records to forget
    low = [e["data"] for e in events if short(e) == "stock.low"]
    assert low == [{"sku": "ECO-1", "available": 3, "threshold": 5}]


def test_a_publisher_restart_neither_loses_nor_reorders_events(
    broker_settings: Settings, subscriber: Subscriber
) -> None:
    first = running(broker_settings)
    try:
        register(first.services, "ECO-1", 50)
        before = checkout(first, f"dora-{TAG}")
        wait_until(lambda: settled(first.services), what="the first checkout", timeout=60)
        subscriber.until({("order.confirmed", str(before))})
    finally:
        first.close()  # the publisher (and every follower) stops
    writer = bootstrap(broker_settings)  # the write side alone: nothing publishes now
    try:
        during = checkout(writer, f"edu-{TAG}")  # placed; the saga confirms it after restart
    finally:
        writer.close()
    assert not any(e["subject"] == str(during) for e in subscriber.drain())
    second = running(broker_settings)
    try:
        wait_until(lambda: settled(second.services), what="the second checkout", timeout=60)
        after = checkout(second, f"fabi-{TAG}")
        wait_until(lambda: settled(second.services), what="the third checkout", timeout=60)
        events = subscriber.until(
            {(t, str(o)) for o in (during, after) for t in ("order.placed", "order.confirmed")}
        )
    finally:
        second.close()
    check_contract(events)
    orders = in_log_order_per_order(events)
    for order in (before, during, after):
        assert orders[str(order)] == ["order.placed", "order.confirmed"], order
    placed = [int(e["sequence"]) for e in events if short(e) == "order.placed"]
    assert placed == sorted(placed)  # one publisher, the log's order, across the restart


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])  # nothing listens once the socket is closed


def test_a_broker_that_is_down_parks_the_publisher_without_holding_up_checkouts(
    settings: Settings,
) -> None:
    down = settings.model_copy(
        update={
            "events_url": f"amqp://guest:guest@127.0.0.1:{closed_port()}/",
            "metrics_token": SecretStr("metrics-token-for-this-test"),
        }
    )
    container = running(down)
    try:
        register(container.services, "ECO-1", 10)
        order_id = checkout(container, f"gil-{TAG}")
        wait_until(
            lambda: settled(container.services), what="the checkout, broker or not", timeout=60
        )
        assert container.services.orders.order_of(order_id).status == "confirmed"

        def publisher() -> Any:
            return next(s for s in statuses(container) if s.name == "integration_events")

        wait_until(lambda: publisher().state == "running", what="the publisher's runner")
        status = publisher()
        assert status.lag >= 2  # Placed and Confirmed wait for the broker
        # Nothing recorded (the library's table-migration row counts as position 1).
        assert status.position <= 1
        metrics = TestClient(create_app(container)).get(
            "/metrics", headers={"Authorization": "Bearer metrics-token-for-this-test"}
        )
        lag = re.search(r'^ecovarejo_process_lag_events\{process="integration_events"\} (\S+)$',
                        metrics.text, re.M)  # fmt: skip
        assert lag is not None, metrics.text[:2000]
        assert float(lag.group(1)) >= 2
    finally:
        container.close()
