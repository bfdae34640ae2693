"""The saga in partitions: each partition reads the events of its own aggregates only, keeps
its own position, and a step that loses a version race on a stock item runs again."""

from __future__ import annotations

import threading
import time

import pytest
from eventsourcing.persistence import IntegrityError, Tracking
from eventsourcing.utils import get_topic

from application.checkout.policy import CheckoutSaga, ItemLocks
from application.event_store import APP_NAME
from domain.order import Order
from domain.stock_item import StockItem
from infrastructure.bootstrap import bootstrap
from infrastructure.runtime.saga_partitions import (
    PARTITION_ENV,
    SAGA_PARTITIONS,
    AdvisoryItemLocks,
    RunningPartitions,
    SagaFeed,
    conninfo_of,
    saga_partition_of,
    tracking_name,
)
from tests.checkout import place_order, register


@pytest.fixture
def system(settings):
    """The wiring without runners: the test drives the saga itself."""
    built = bootstrap(settings)
    yield built
    built.close()


def test_each_saga_partition_reads_the_events_of_its_own_aggregates_only(system):
    for index in range(12):
        register(system.services, f"ECO-{index}", 5)
    everything = system.services.store.recorder.select_notifications(1, 1000)
    seen: list[int] = []
    for k in range(SAGA_PARTITIONS):
        feed = SagaFeed(env={**system.follower_env, PARTITION_ENV: f"{k}/{SAGA_PARTITIONS}"})
        try:
            mine = feed.recorder.select_notifications(1, 1000)
        finally:
            feed.close()
        assert all(saga_partition_of(n.originator_id) == k for n in mine)
        seen += [n.id for n in mine]
    assert sorted(seen) == [n.id for n in everything]  # every event in exactly one partition
    assert len({saga_partition_of(n.originator_id) for n in everything}) > 1


def placed_event(system, order_id, timeout: float = 10.0):
    """The order's Placed event and its position, once readers may see it: the log hides
    rows above the oldest transaction still running (the visibility bound), so under load
    a committed event can take a moment to appear."""
    topic = get_topic(Order.Placed)
    deadline = time.monotonic() + timeout
    while True:
        for notification in system.services.store.recorder.select_notifications(
            1, 1000, topics=[topic]
        ):
            if notification.originator_id == order_id:
                event = system.services.store.mapper.to_domain_event(notification)
                return event, notification.id
        if time.monotonic() > deadline:
            raise AssertionError(f"no Placed event for {order_id}")
        time.sleep(0.05)


def test_a_saga_step_that_loses_a_race_on_a_stock_item_runs_again_on_a_fresh_read(
    system, monkeypatch
):
    register(system.services, "ECO-1", 10)
    order_id = place_order(system.services, {"ECO-1": 2})
    event, position = placed_event(system, order_id)
    saga = CheckoutSaga(env=system.follower_env)
    saga.tracking_name = tracking_name(saga_partition_of(order_id))
    load, raced = saga._load, []

    def load_then_race(aggregate_id):
        found = load(aggregate_id)
        if isinstance(found, StockItem) and not raced:  # a receipt lands after the read
            raced.append(system.services.catalog.receive_stock("ECO-1", 5))
        return found

    monkeypatch.setattr(saga, "_load", load_then_race)
    try:
        saga.process_event(event, Tracking(APP_NAME, position))
        assert raced  # the first run did lose the race
        assert system.services.orders.order_of(order_id).stock_reserved
        item = system.services.catalog.stock_item("ECO-1")
        assert (item.reserved, item.available) == (2, 13)  # both changes, neither lost
        assert saga.recorder.max_tracking_id(saga.tracking_name) == position
        assert saga.recorder.max_tracking_id(APP_NAME) is None  # the partition's own row

        # The same position again (another runner of the partition got there first) is
        # refused at once, without reruns: that is ownership gone wrong, not contention.
        started = time.monotonic()
        with pytest.raises(IntegrityError):
            saga.process_event(event, Tracking(APP_NAME, position))
        assert time.monotonic() - started < 0.5
        assert system.services.catalog.stock_item("ECO-1").reserved == 2
    finally:
        saga.close()


@pytest.mark.parametrize("where", ["one process", "two workers"])
def test_steps_of_two_partitions_on_one_stock_item_take_turns_instead_of_racing(
    system, caplog, where
):
    register(system.services, "ECO-1", 10)
    orders = [place_order(system.services, {"ECO-1": 1}) for _ in range(2)]
    sagas, locks = [], []
    for index in range(len(orders)):
        saga = CheckoutSaga(env=system.follower_env)
        saga.tracking_name = tracking_name(index)  # as if two partitions
        if where == "two workers":  # each its own process locks; PostgreSQL's in common
            saga.item_locks = ItemLocks()
            locks.append(AdvisoryItemLocks(conninfo_of(system.follower_env)))
            saga.shared_locks = locks[-1].holding
        load = saga._load

        def slow_load(aggregate_id, load=load):
            found = load(aggregate_id)
            if isinstance(found, StockItem):
                time.sleep(0.3)  # a wide window between the read and the commit
            return found

        saga._load = slow_load
        sagas.append(saga)
    steps = [
        (saga, *placed_event(system, order)) for saga, order in zip(sagas, orders, strict=True)
    ]
    caplog.set_level("INFO", logger="application.checkout.policy")
    try:
        threads = [
            threading.Thread(target=saga.process_event, args=(event, Tracking(APP_NAME, at)))
            for saga, event, at in steps
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(10)
        assert all(system.services.orders.order_of(order).stock_reserved for order in orders)
        assert system.services.catalog.stock_item("ECO-1").reserved == 2
        assert "lost a version race" not in caplog.text  # the second waited for the first
    finally:
        for saga in sagas:
            saga.close()
        for lock in locks:
            lock.close()


def test_a_process_that_runs_every_partition_takes_no_shared_locks_and_one_that_does_not_does(
    system,
):
    running = RunningPartitions()
    locks = AdvisoryItemLocks(conninfo_of(system.follower_env), running)
    item = StockItem.create_id("ECO-1")

    def advisory_locks_held() -> int:
        import psycopg

        with psycopg.connect(system.database_url) as conn:
            row = conn.execute("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'")
            return int(row.fetchone()[0])

    try:
        for k in range(SAGA_PARTITIONS):
            running.started(k)
        running.started(0)  # a runner restarted before the old one left
        with locks.holding([item]):
            assert advisory_locks_held() == 0  # alone: the process's own locks suffice
        running.stopped(0)
        with locks.holding([item]):
            assert advisory_locks_held() == 0  # partition 0 still runs (its other runner)
        running.stopped(0)  # another worker took partition 0 over
        assert not running.every_one()
        with locks.holding([item]):
            assert advisory_locks_held() == 1
        assert advisory_locks_held() == 0  # released after the step
    finally:
        locks.close()
