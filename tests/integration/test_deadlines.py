"""The effects' deadlines as a table (infrastructure/runtime/deadlines.py): written in the
transaction of the dispatcher's position, sent once when due, deleted when the order is
decided, and still run after the worker that recorded them is gone."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import psycopg
import pytest
from eventsourcing.persistence import IntegrityError, Tracking

from application.checkout.effects import (
    EFFECT_EVENTS,
    PAYMENT_TIMEOUT,
    Effect,
    EffectDispatcher,
)
from application.event_store import APP_NAME
from domain.base import now
from domain.order import Order
from infrastructure.bootstrap import bootstrap
from infrastructure.runtime.deadlines import TABLE, DeadlineSweeper, PostgresDeadlines
from tests.checkout import place_order, register, wait_until


class Sender:
    """An `EffectSender` that keeps what it is given, or fails as a broker that is down."""

    def __init__(self, down: bool = False):
        self.sent: list[Effect] = []
        self.down = down

    def send(self, effect: Effect) -> None:
        if self.down:
            raise ConnectionError("the broker is down")
        self.sent.append(effect)


def dispatcher(tracking: Any, sender: Sender, timeout: float = 60) -> EffectDispatcher:
    book = PostgresDeadlines(tracking)
    return EffectDispatcher(tracking, sender, {PAYMENT_TIMEOUT: timeout}, book=book)


def follow(dispatcher: EffectDispatcher, container: Any, after: int = 0) -> int:
    """Hand the dispatcher the log's effect events after `after` (as its runner does); the
    position of the last one."""
    store = container.services.store
    position = after
    for notification in store.recorder.select_notifications(after + 1, 10_000):
        event = store.mapper.to_domain_event(notification)
        if type(event) in EFFECT_EVENTS:
            dispatcher.process_event(event, Tracking(APP_NAME, notification.id))
            position = notification.id
    return position


def rows(container: Any) -> list[tuple[str, list[str]]]:
    with psycopg.connect(container.database_url) as conn:
        found = conn.execute(f"SELECT action, args FROM {TABLE} ORDER BY key").fetchall()
    return [(action, list(args)) for action, args in found]


@pytest.fixture
def quiet(settings):
    """The system without its workers: the test is the worker."""
    built = bootstrap(settings)
    yield built
    built.close()


@pytest.fixture
def tracking(quiet):
    """The effect dispatcher's tracking recorder (and so its deadlines' database)."""
    recorder = quiet.effects_tracking()
    yield recorder
    recorder.datastore.close()


def test_the_payment_deadline_is_a_row_written_with_the_position_not_a_message(quiet, tracking):
    register(quiet.services, "ECO-1", 10)
    order_id = place_order(quiet.services, {"ECO-1": 1})
    sender = Sender()
    head = follow(dispatcher(tracking, sender), quiet)
    assert sender.sent == []  # nothing for the broker: the deadline waits in the table
    assert rows(quiet) == [("expire_order", [str(order_id)])]
    assert (tracking.max_tracking_id(APP_NAME) or 0) == head


def test_a_due_deadline_is_sent_once_by_a_sweeper_that_never_saw_it_recorded(quiet, tracking):
    register(quiet.services, "ECO-1", 10)
    order_id = place_order(quiet.services, {"ECO-1": 1})
    follow(dispatcher(tracking, Sender(), timeout=30), quiet)  # that worker then dies
    sender = Sender()
    sweeper = DeadlineSweeper(PostgresDeadlines(tracking), sender)
    assert sweeper.sweep() == 0  # not due yet
    assert sweeper.sweep(at=now() + timedelta(seconds=31)) == 1
    assert [(e.action, e.args) for e in sender.sent] == [("expire_order", (str(order_id),))]
    assert sender.sent[0].delay_s == 0
    assert sweeper.sweep(at=now() + timedelta(seconds=31)) == 0  # sent once
    assert rows(quiet) == []


def test_a_sweep_the_broker_refuses_leaves_the_deadline_for_the_next(quiet, tracking):
    register(quiet.services, "ECO-1", 10)
    place_order(quiet.services, {"ECO-1": 1})
    follow(dispatcher(tracking, Sender(), timeout=1), quiet)
    book = PostgresDeadlines(tracking)
    later = now() + timedelta(seconds=2)
    with pytest.raises(ConnectionError):
        DeadlineSweeper(book, Sender(down=True)).sweep(at=later)
    assert len(rows(quiet)) == 1
    sender = Sender()
    assert DeadlineSweeper(book, sender).sweep(at=later) == 1
    assert [e.action for e in sender.sent] == ["expire_order"]


def test_a_deadline_is_not_recorded_when_its_position_is_not(quiet, tracking):
    """The rows and the position are one transaction: a position refused leaves no row."""
    register(quiet.services, "ECO-1", 10)
    place_order(quiet.services, {"ECO-1": 1})
    head = quiet.head_position()
    tracking.insert_tracking(Tracking(APP_NAME, head))  # recorded already
    with pytest.raises(IntegrityError):
        follow(dispatcher(tracking, Sender()), quiet)
    assert rows(quiet) == []


def test_a_decided_order_s_deadline_is_deleted_or_never_written(quiet, tracking):
    register(quiet.services, "ECO-1", 10)
    first = place_order(quiet.services, {"ECO-1": 1})
    effects = dispatcher(tracking, Sender())
    after = follow(effects, quiet)
    assert rows(quiet) == [("expire_order", [str(first)])]
    cancel(quiet, first)
    after = follow(effects, quiet, after)
    assert rows(quiet) == []  # deleted with the position of the cancellation

    second = place_order(quiet.services, {"ECO-1": 1})
    effects.drained = lambda: False  # placed and cancelled in one batch of the dispatcher
    cancel(quiet, second)
    follow(effects, quiet, after)
    effects.flush_pending()
    assert rows(quiet) == []
    assert (tracking.max_tracking_id(APP_NAME) or 0) == quiet.head_position()


def cancel(container: Any, order_id: Any) -> None:
    order: Order = container.services.store.load(Order, order_id)
    order.cancel("payment_timeout")
    container.services.store.commit(order)


def test_the_deadline_runs_after_the_worker_that_recorded_it_is_gone(settings):
    """A worker records the payment deadline and dies before it is due; another worker,
    which never saw the order placed, cancels it at its deadline."""
    first = bootstrap(settings)
    try:
        register(first.services, "ECO-1", 10)
        order_id = place_order(first.services, {"ECO-1": 2})
        tracking = first.effects_tracking()
        follow(dispatcher(tracking, Sender(), timeout=1), first)
        tracking.datastore.close()
    finally:
        first.close()
    second = bootstrap(settings)
    try:
        second.start_processing(["effects"])  # no saga: nobody pays for the order
        wait_until(
            lambda: second.services.orders.order_of(order_id).status == "cancelled",
            timeout=20,
            what="the order to be cancelled at its deadline",
        )
        assert second.services.orders.order_of(order_id).cancellation_reason == "payment_timeout"
        assert rows(second) == []
    finally:
        second.close()


def test_the_position_and_deadlines_wait_for_the_write_interval_or_the_runner_s_stop(
    quiet, tracking
):
    register(quiet.services, "ECO-1", 10)
    order_id = place_order(quiet.services, {"ECO-1": 1})
    book = PostgresDeadlines(tracking)
    effects = EffectDispatcher(tracking, Sender(), {PAYMENT_TIMEOUT: 60}, book=book)
    effects.write_every_s = 60
    last = follow(effects, quiet)
    effects.flush_pending()  # the runner's idle call: not yet
    assert (rows(quiet), tracking.max_tracking_id(APP_NAME)) == ([], None)
    effects.flush()  # the runner stops
    assert rows(quiet) == [("expire_order", [str(order_id)])]
    assert tracking.max_tracking_id(APP_NAME) == last
