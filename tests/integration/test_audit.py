"""The log as audit trail: replay to any point, tamper evidence, streaming."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import psycopg
import pytest

from application.audit import replay, stream, trail
from application.errors import AggregateNotFoundError, InvalidReplayError
from domain.base import EventMetadata, event_context
from domain.order import OrderStatus
from domain.stock_item import StockItem
from infrastructure.store.event_log import EventLog
from tests.checkout import DECLINED, place_order, register, settled, wait_until

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


class Clock:
    def __init__(self, at: datetime):
        self.at = at

    def now(self) -> datetime:
        return self.at


def test_replay_as_of_reproduces_the_state_at_that_moment(container):
    services = container.services
    for hours, action in (
        (0, lambda: register(services, "ECO-1", 10)),
        (1, lambda: services.catalog.receive_stock("ECO-1", 5)),
        (2, lambda: services.catalog.receive_stock("ECO-1", 7)),
    ):
        with event_context(EventMetadata("admin:ana"), Clock(T0 + timedelta(hours=hours))):
            action()
    item_id = StockItem.create_id("ECO-1")
    at = replay(
        services.store.mapper,
        services.event_log,
        item_id,
        as_of=T0 + timedelta(hours=1, minutes=30),
    )
    assert at.state["on_hand"] == 15
    assert [e["version"] for e in at.events] == [1, 2]
    assert (
        replay(services.store.mapper, services.event_log, item_id, version=1).state["on_hand"] == 10
    )
    assert replay(services.store.mapper, services.event_log, item_id).state["on_hand"] == 22


def test_replay_refuses_points_outside_the_history(container):
    register(container.services, "ECO-1", 10)
    item_id = StockItem.create_id("ECO-1")
    with pytest.raises(InvalidReplayError):
        replay(container.services.store.mapper, container.services.event_log, item_id, version=2)
    with pytest.raises(InvalidReplayError):
        replay(
            container.services.store.mapper,
            container.services.event_log,
            item_id,
            as_of=datetime(2000, 1, 1, tzinfo=UTC),
        )
    with pytest.raises(AggregateNotFoundError):
        replay(
            container.services.store.mapper,
            container.services.event_log,
            StockItem.create_id("ECO-X"),
        )


def test_the_chain_verifies_on_a_clean_log(container):
    register(container.services, "ECO-1", 10)
    container.services.catalog.receive_stock("ECO-1", 1)
    report = chain_all(container.database_url).verify_chain()
    assert (report.ok, report.checked) == (True, 2)


def chain_all(database_url: str) -> EventLog:
    """Chain every event written so far (the chain only takes events below the oldest
    transaction in flight, and the container's followers write too)."""
    log = EventLog(database_url)
    with psycopg.connect(database_url) as conn:
        row = conn.execute("SELECT max(notification_id) FROM ecovarejo_events").fetchone()
    head = row[0] if row and row[0] is not None else 0

    def reached() -> bool:
        log.extend_chain_fully()
        return log.verify_chain().globally_chained_to >= head

    wait_until(reached)
    return log


def tamper(database_url: str, statement: str) -> None:
    """What a superuser could do behind the application's back."""
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("ALTER TABLE ecovarejo_events DISABLE TRIGGER USER")
        conn.execute(statement)
        conn.execute("ALTER TABLE ecovarejo_events ENABLE TRIGGER USER")


@pytest.mark.parametrize(
    ("statement", "problem"),
    [
        (
            "UPDATE ecovarejo_events SET state = convert_to(replace(convert_from(state, 'UTF8'), "
            "'\"quantity\":5', '\"quantity\":500'), 'UTF8') WHERE notification_id = 3",
            "do not match",
        ),
        ("DELETE FROM ecovarejo_events WHERE notification_id = 3", "missing"),
    ],
)
def test_verify_names_the_first_position_altered_behind_the_applications_back(
    container, statement, problem
):
    register(container.services, "ECO-1", 10)
    container.services.catalog.receive_stock("ECO-1", 1)
    container.services.catalog.receive_stock("ECO-1", 5)
    container.services.catalog.receive_stock("ECO-1", 2)
    chain_all(container.database_url)
    tamper(container.database_url, statement)
    report = EventLog(container.database_url).verify_chain()
    assert report.first_bad_position == 3
    assert problem in report.problem
    assert report.checked == 2


def test_verify_detects_an_event_slipped_in_among_chained_ones(container):
    register(container.services, "ECO-1", 10)
    with psycopg.connect(container.database_url, autocommit=True) as conn:
        conn.execute(
            "SELECT nextval(pg_get_serial_sequence('ecovarejo_events', 'notification_id'))"
        )  # a position left free, as a rolled-back append does
    container.services.catalog.receive_stock("ECO-1", 1)
    chain_all(container.database_url)
    tamper(
        container.database_url,
        "INSERT INTO ecovarejo_events (originator_id, originator_version, topic, state, "
        "notification_id) SELECT originator_id, 99, topic, state, 2 FROM ecovarejo_events "
        "LIMIT 1",
    )
    report = EventLog(container.database_url).verify_chain()
    assert report.first_bad_position == 2
    assert "no link" in report.problem


def test_events_appended_since_the_chain_last_ran_are_reported_then_chained(container):
    container.chain_keeper.stop()  # the test decides when the chain advances
    register(container.services, "ECO-1", 10)
    log = chain_all(container.database_url)
    container.services.catalog.receive_stock("ECO-1", 1)
    report = log.verify_chain()
    assert (report.ok, report.globally_chained_to, report.not_yet_global) == (True, 1, 1)
    chain_all(container.database_url)
    with psycopg.connect(container.database_url) as conn:
        linked = conn.execute("SELECT count(*) FROM ecovarejo_chain_links").fetchone()
    assert linked == (2,)
    assert log.verify_chain().not_yet_global == 0


def test_the_whole_log_streams_in_order_in_batches(container):
    register(container.services, "ECO-1", 10)
    for _ in range(30):
        container.services.catalog.receive_stock("ECO-1", 1)
    rows = list(
        stream(
            container.services.store.mapper,
            container.services.store.recorder.select_notifications,
            since=5,
            batch=7,
        )
    )
    assert [r["position"] for r in rows] == list(range(6, 32))
    assert {r["type"] for r in rows} == {"StockItem.Received"}


def test_an_order_trail_shows_steps_and_compensations_across_aggregates(container):
    register(container.services, "ECO-1", 10)
    order_id = place_order(container.services, {"ECO-1": 2}, DECLINED)
    wait_until(lambda: settled(container.services))
    steps = trail(container.services.store.mapper, container.services.event_log, order_id)
    assert [s["type"] for s in steps] == [
        "Order.Placed",
        "Order.StockReserved",
        "StockItem.Reserved",
        "Payment.Requested",
        "Payment.Declined",
        "Order.Cancelled",
        "StockItem.Released",
    ]
    assert [s["type"] for s in steps if s["compensation"]] == [
        "Order.Cancelled",
        "StockItem.Released",
    ]
    assert steps[5]["causation_id"].startswith("event:")


def test_the_global_chain_catches_an_aggregates_last_event_deleted_with_its_link(container):
    register(container.services, "ECO-1", 10)
    container.services.catalog.receive_stock("ECO-1", 1)
    container.services.catalog.receive_stock("ECO-1", 5)
    log = chain_all(container.database_url)
    with psycopg.connect(container.database_url, autocommit=True) as conn:
        for table in ("ecovarejo_events", "ecovarejo_chain_links"):
            conn.execute(f"ALTER TABLE {table} DISABLE TRIGGER USER")
        conn.execute("DELETE FROM ecovarejo_events WHERE notification_id = 3")
        conn.execute("DELETE FROM ecovarejo_chain_links WHERE position = 3")
    report = log.verify_chain()
    assert (report.first_bad_position, report.checked) == (3, 2)
    assert "missing" in report.problem


def test_verify_reports_how_far_the_global_chain_has_come(container):
    container.chain_keeper.stop()  # the test decides when the chain advances
    register(container.services, "ECO-1", 10)
    log = chain_all(container.database_url)
    container.services.catalog.receive_stock("ECO-1", 1)
    container.services.catalog.receive_stock("ECO-1", 2)
    report = log.verify_chain()
    assert (report.ok, report.globally_chained_to, report.not_yet_global) == (True, 1, 2)
    chain_all(container.database_url)
    report = log.verify_chain()
    assert (report.ok, report.globally_chained_to, report.not_yet_global) == (True, 3, 0)


def test_an_order_trail_follows_its_returns_to_the_refund(container):
    register(container.services, "ECO-1", 10)
    order_id = place_order(container.services, {"ECO-1": 2}, customer="ana")
    wait_until(lambda: settled(container.services))
    confirmed = OrderStatus.CONFIRMED
    wait_until(lambda: container.services.orders.order_of(order_id).status == confirmed)
    container.services.orders.ship_order(order_id, "Correios", "BR1")
    wait_until(lambda: settled(container.services))
    requested = container.services.returns.request_return(order_id, "ana", [("ECO-1", 1)], "grande")
    return_id = requested.aggregate_id
    container.services.returns.approve_return(return_id)
    container.services.returns.receive_return(return_id)
    wait_until(lambda: settled(container.services))
    wait_until(lambda: container.services.store.repository.get(return_id).status == "refunded")
    steps = trail(container.services.store.mapper, container.services.event_log, order_id)
    kinds = [s["type"] for s in steps]
    after_shipment = kinds[kinds.index("Order.Shipped") :]
    for kind in ("Return.Requested", "Return.Approved", "Return.Received", "Return.Refunded"):
        assert kind in after_shipment, kind
    assert "Payment.Refunded" in [s["type"] for s in steps if s["compensation"]]
    assert {s["aggregate_id"] for s in steps if s["type"].startswith("Return.")} == {str(return_id)}
