"""The stock-item cache on the write path (application/write_path.py: `LeanRepository`):
a command's committed events advance the cached item, so the next load reads no row, yet
every load still sees what other processes wrote, a failed command leaves the cache as
the log has it, and a command's copy is never the cached item."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest

from application.errors import VersionConflictError
from application.event_store import EventStore
from domain.base import EventMetadata, event_context
from domain.stock_item import StockItem
from infrastructure.bootstrap import Container
from tests.stock_items import store_with_stock_item

SKU = "ECO-CACHE-1"


@pytest.fixture
def store(container: Container) -> Iterator[EventStore]:
    yield from store_with_stock_item(container, SKU)


def _rows_read(store: EventStore) -> list[int]:
    """How many rows each `select_events` of the store's recorder returns from now on."""
    counts: list[int] = []
    recorder: Any = store.recorder
    original = recorder.select_events

    def counted(*args: Any, **kwargs: Any) -> Any:
        rows = original(*args, **kwargs)
        counts.append(len(rows))
        return rows

    recorder.select_events = counted
    return counts


def _other_process(store: EventStore) -> EventStore:
    return EventStore(env={**store.env, "CREATE_TABLE": "n"})  # its own, empty cache


def test_a_committed_command_advances_the_cache_so_the_next_load_reads_no_row(
    container: Container, store: EventStore
) -> None:
    catalog = container.services.catalog
    catalog.receive_stock(SKU, 1)  # loaded into the cache
    catalog.receive_stock(SKU, 2)
    reads = _rows_read(store)
    item = catalog.stock_item(SKU)
    assert reads == [0]
    assert (item.version, item.on_hand) == (3, 13)


def test_a_load_still_sees_what_another_process_wrote(
    container: Container, store: EventStore
) -> None:
    catalog = container.services.catalog
    catalog.receive_stock(SKU, 1)
    other = _other_process(store)
    try:
        theirs = other.repository.get(StockItem.create_id(SKU))
        theirs.receive(5)
        other.save(theirs)
    finally:
        other.close()
    item = catalog.stock_item(SKU)
    assert (item.version, item.on_hand) == (3, 16)
    catalog.receive_stock(SKU, 1)
    assert catalog.stock_item(SKU).on_hand == 17


def test_a_command_that_conflicts_leaves_the_cache_as_the_log_has_it(
    container: Container, store: EventStore
) -> None:
    catalog = container.services.catalog
    mine = catalog.stock_item(SKU)
    other = _other_process(store)
    try:
        theirs = other.repository.get(mine.id)
        theirs.receive(5)
        other.save(theirs)
    finally:
        other.close()
    mine.receive(1)
    with pytest.raises(VersionConflictError):
        store.commit(mine)
    item = catalog.stock_item(SKU)
    assert (item.version, item.on_hand) == (2, 15)


def test_a_commands_copy_is_never_the_cached_item(container: Container, store: EventStore) -> None:
    catalog = container.services.catalog
    catalog.receive_stock(SKU, 1)
    loaded = catalog.stock_item(SKU)
    loaded.receive(100)  # changed, never saved
    loaded.reservations["stray"] = 3
    again = catalog.stock_item(SKU)
    assert again is not loaded
    assert (again.version, again.on_hand, again.reservations) == (2, 11, {})


def test_aggregates_the_cache_does_not_keep_are_read_afresh_every_time(
    container: Container,
) -> None:
    services = container.services
    with event_context(EventMetadata("customer:c1", "corr", "cause")):
        cart = services.checkout.create_cart("c1")
    repository: Any = services.store.repository
    first = repository.get(cart.aggregate_id)
    second = repository.get(cart.aggregate_id)
    assert first is not second
    assert cart.aggregate_id not in repository.cache.cache


def test_threads_receiving_on_one_item_lose_no_receipt(
    container: Container, store: EventStore
) -> None:
    catalog = container.services.catalog
    errors: list[BaseException] = []

    def receive(times: int) -> None:
        try:
            with event_context(EventMetadata("admin:test", "corr", "cause")):
                for _ in range(times):
                    while True:
                        try:
                            catalog.receive_stock(SKU, 1)
                            break
                        except VersionConflictError:
                            continue
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=receive, args=(25,)) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    item = catalog.stock_item(SKU)
    assert (item.version, item.on_hand) == (151, 160)
    other = _other_process(store)
    try:
        replayed = other.repository.get(item.id)
        assert (replayed.version, replayed.on_hand) == (151, 160)
    finally:
        other.close()
