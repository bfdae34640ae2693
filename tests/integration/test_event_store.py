"""The event store on a real PostgreSQL."""

from datetime import UTC, datetime
from decimal import Decimal
from uuid import uuid4

import psycopg
import pytest

from application.errors import AlreadyExistsError, VersionConflictError
from application.event_store import EventStore
from application.services import Services
from domain.base import EventMetadata, event_context
from domain.money import Money
from domain.order import Order, OrderLine, PaymentMethod
from domain.personal import PersonalData
from domain.stock_item import StockItem
from tests.checkout import wait_until


def register(services: Services, sku: str = "ECO-1", quantity: int = 10) -> None:
    services.catalog.register_stock_item(
        sku=sku,
        name="Café Orgânico",
        description="",
        category="alimentos",
        price=Money.brl("42.90"),
        initial_quantity=quantity,
        sustainability={"carbon_footprint_kg": "1.800", "certifications": ["IBD"]},
    )


def test_events_round_trip_exactly(container):
    with event_context(EventMetadata("customer:c1", "corr", "cause")):
        order = Order.place(
            customer_id="c1",
            cart_id=uuid4(),
            lines=[OrderLine("ECO-1", "Café", 3, Money.brl("42.90"), Decimal("1.800"))],
            shipping_address=PersonalData("c1", {"city": "São Paulo"}),
            payment_method=PaymentMethod(last4="4242"),
        )
        original = order.pending_events[0]
        container.services.store.save(order)
    [stored] = container.services.store.repository.event_store.get(order.id)
    assert stored == original
    loaded = container.services.store.repository.get(order.id)
    assert loaded.totals.total == Money.brl("148.60")
    assert loaded.lines[0].unit_price == Money.brl("42.90")
    assert loaded.carbon_footprint_kg == Decimal("5.400")
    assert (stored.actor, stored.correlation_id, stored.causation_id) == (
        "customer:c1",
        "corr",
        "cause",
    )
    assert stored.timestamp.tzinfo is not None
    assert stored.timestamp <= datetime.now(tz=UTC)


def test_postgres_refuses_to_update_delete_or_truncate_events(container):
    register(container.services)
    for statement in (
        "UPDATE ecovarejo_events SET topic = 'forged'",
        "DELETE FROM ecovarejo_events",
        "TRUNCATE ecovarejo_events",
    ):
        with (
            psycopg.connect(container.database_url) as conn,
            pytest.raises(psycopg.errors.InsufficientPrivilege, match="events are immutable"),
        ):
            conn.execute(statement)
    assert container.head_position() == 1


def test_concurrent_change_surfaces_as_a_version_conflict(container):
    register(container.services)
    other = EventStore(env=container.env)
    try:
        mine = container.services.store.repository.get(StockItem.create_id("ECO-1"))
        theirs = other.repository.get(StockItem.create_id("ECO-1"))
        theirs.receive(5)
        other.save(theirs)
        mine.receive(1)
        with pytest.raises(VersionConflictError):
            container.services.store.commit(mine)
    finally:
        other.close()
    assert container.services.catalog.stock_item("ECO-1").on_hand == 15


def test_if_match_mismatch_is_a_conflict_and_changes_nothing(container):
    register(container.services)
    with pytest.raises(VersionConflictError):
        container.services.catalog.receive_stock("ECO-1", 5, expected_version=7)
    assert container.services.catalog.stock_item("ECO-1").version == 1


def test_refuses_registering_a_sku_twice(container):
    register(container.services)
    with pytest.raises(AlreadyExistsError):
        register(container.services)


def test_one_log_orders_all_aggregates(container):
    register(container.services, "ECO-1")
    cart = container.services.checkout.create_cart("c1")
    register(container.services, "ECO-2")
    # Readers see events below the oldest transaction in flight: the container's followers
    # write too, so the third event may show a moment after its commit.
    wait_until(
        lambda: len(container.services.store.recorder.select_notifications(start=1, limit=10)) == 3
    )
    notifications = container.services.store.recorder.select_notifications(start=1, limit=10)
    assert [n.id for n in notifications] == [1, 2, 3]
    assert cart.position == 2


def test_processes_starting_together_set_up_the_store_without_racing(settings):
    import threading

    from infrastructure.bootstrap import bootstrap

    errors: list[str] = []

    def start() -> None:
        try:
            bootstrap(settings).close()
        except Exception as error:
            errors.append(repr(error))

    threads = [threading.Thread(target=start) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []


def test_stock_items_are_snapshotted_and_a_fresh_process_reads_them_from_the_snapshot(
    container,
):
    from application.event_store import SNAPSHOT_EVERY

    services = container.services
    register(services, "ECO-1", 0)
    for _ in range(SNAPSHOT_EVERY + 5):
        services.catalog.receive_stock("ECO-1", 1)
    item_id = StockItem.create_id("ECO-1")
    fresh = EventStore(env={**container.env, "CREATE_TABLE": "n"})  # a new process: empty cache
    try:
        assert fresh.snapshots is not None
        [snapshot] = fresh.snapshots.get(item_id, desc=True, limit=1)
        assert snapshot.originator_version == SNAPSHOT_EVERY
        item = fresh.repository.get(item_id)
        assert (item.version, item.on_hand) == (SNAPSHOT_EVERY + 6, SNAPSHOT_EVERY + 5)
        with psycopg.connect(container.database_url) as conn:
            owners = conn.execute(
                "SELECT DISTINCT originator_id FROM ecovarejo_snapshots"
            ).fetchall()
        assert owners == [(item_id,)]
    finally:
        fresh.close()


def _placed_order(store: EventStore) -> Order:
    order = Order.place(
        customer_id="c1",
        cart_id=uuid4(),
        lines=[OrderLine("ECO-1", "Café", 1, Money.brl("42.90"), Decimal("1.800"))],
        shipping_address=PersonalData("c1", {"city": "São Paulo"}),
        payment_method=PaymentMethod(last4="4242"),
    )
    store.save(order)
    return order


def test_orders_load_without_asking_the_snapshot_table_and_stock_items_still_do(container):
    services = container.services
    register(services, "ECO-1", 5)
    fresh = EventStore(env={**container.env, "CREATE_TABLE": "n"})  # a new process
    try:
        order = _placed_order(fresh)
        asked: list[object] = []
        assert fresh.snapshots is not None
        original = fresh.snapshots.get
        fresh.snapshots.get = lambda *a, **k: asked.append(a or k) or original(*a, **k)
        loaded = fresh.load(Order, order.id)
        assert loaded is not None
        assert loaded.id == order.id
        assert asked == []
        item = fresh.load(StockItem, StockItem.create_id("ECO-1"))
        assert item is not None
        assert item.on_hand == 5
        assert len(asked) == 1
    finally:
        fresh.close()


def test_a_stock_item_named_where_an_order_is_expected_reads_as_not_an_order(
    container, monkeypatch
):
    import application.event_store as event_store

    services = container.services
    register(services, "ECO-1", 0)
    for _ in range(4):
        services.catalog.receive_stock("ECO-1", 1)
    item_id = StockItem.create_id("ECO-1")
    # Each read on a new store (a new process): nothing cached, so the uncached paths run.
    for limit in (event_store.UNSNAPSHOTTED_READ_LIMIT, 2):  # 2: a long history
        monkeypatch.setattr(event_store, "UNSNAPSHOTTED_READ_LIMIT", limit)
        for read in (
            lambda store: store.load(Order, item_id) is None,
            lambda store: store.get_aggregate_of(Order, item_id).on_hand == 4,
            lambda store: store.load(Order, uuid4()) is None,
        ):
            store = EventStore(env={**container.env, "CREATE_TABLE": "n"})
            try:
                assert not store.repository.cache.holds(item_id)
                assert read(store)
            finally:
                store.close()


def test_a_stock_item_rebuilt_on_a_cache_miss_is_handed_out_as_a_copy(container):
    register(container.services, "ECO-1", 5)
    fresh = EventStore(env={**container.env, "CREATE_TABLE": "n"})  # an empty cache
    try:
        item_id = StockItem.create_id("ECO-1")
        first = fresh.repository.get(item_id)  # a miss: rebuilt and cached
        first.reserve(uuid4(), 2)  # a step that changes it and then fails to commit
        again = fresh.repository.get(item_id)
        assert again is not first
        assert (again.available, again.version) == (5, 1)
        order = _placed_order(fresh)
        assert fresh.repository.get(order.id) is not fresh.repository.get(order.id)
    finally:
        fresh.close()
