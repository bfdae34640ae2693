"""A stock item's single-aggregate commands trust the process's cached copy
(application/event_store.py: `EventStoreApp.with_trusted_cache`): one round trip, the
append, instead of a fast-forward read and the append. The append checks the copy (the
log's key is the aggregate's id and version); a stale copy's command runs again asking the
log, so its outcome is the log's, never the stale copy's."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from application.errors import VersionConflictError
from application.event_store import EventStore
from domain.base import EventMetadata, event_context
from domain.money import Money
from domain.stock_item import StockItem
from infrastructure.bootstrap import Container
from tests.stock_items import log_reads, store_with_stock_item

SKU = "ECO-TRUST-1"


@pytest.fixture
def store(container: Container) -> Iterator[EventStore]:
    yield from store_with_stock_item(container, SKU)


def _written_elsewhere(store: EventStore, change: Any) -> int:
    """Another process's command on the stock item (its own event store): the version."""
    other = EventStore(env={**store.env, "CREATE_TABLE": "n"})
    with event_context(EventMetadata("admin:test", "corr", "cause")):
        item = other.repository.get(StockItem.create_id(SKU))
        change(item)
        other.commit(item)
    version: int = item.version
    other.close()
    return version


@pytest.fixture
def admin() -> Iterator[None]:
    with event_context(EventMetadata("admin:test", "corr", "cause")):
        yield


def test_a_command_on_a_cached_stock_item_sends_no_read(
    container: Container, store: EventStore, admin: None
) -> None:
    catalog = container.services.catalog
    catalog.receive_stock(SKU, 1)  # loads the item into the cache
    reads = log_reads(store, ("select_events",))
    result = catalog.receive_stock(SKU, 2)
    assert reads == []
    assert result.version == 3
    assert catalog.stock_item(SKU).on_hand == 13


def test_a_stale_copy_is_caught_by_its_append_and_the_command_runs_on_the_log(
    container: Container, store: EventStore, admin: None
) -> None:
    catalog = container.services.catalog
    catalog.receive_stock(SKU, 1)  # cached at version 2, 11 on hand
    _written_elsewhere(store, lambda item: item.receive(5, "NF-9"))  # version 3, 16
    reads = log_reads(store, ("select_events",))
    result = catalog.receive_stock(SKU, 1)
    assert result.version == 4
    assert reads == ["select_events"]  # the run again, asking the log
    assert catalog.stock_item(SKU).on_hand == 17


def test_a_refusal_on_a_stale_copy_is_asked_of_the_log(
    container: Container, store: EventStore, admin: None
) -> None:
    catalog = container.services.catalog
    catalog.receive_stock(SKU, 1)  # cached: 11 on hand
    _written_elsewhere(store, lambda item: item.receive(5, "NF-9"))  # 16 on hand
    catalog.adjust_stock(SKU, -14, "inventory count")  # the stale copy would refuse it
    assert catalog.stock_item(SKU).on_hand == 2


def test_a_command_without_an_event_on_a_stale_copy_is_asked_of_the_log(
    container: Container, store: EventStore, admin: None
) -> None:
    catalog = container.services.catalog
    catalog.receive_stock(SKU, 1)  # cached at 9.90
    _written_elsewhere(store, lambda item: item.change_price(Money.brl("12.00")))
    catalog.change_price(SKU, Money.brl("9.90"))  # the stale copy sees no change
    assert catalog.stock_item(SKU).price == Money.brl("9.90")


def test_if_match_is_answered_by_the_log_not_by_a_stale_copy(
    container: Container, store: EventStore, admin: None
) -> None:
    catalog = container.services.catalog
    catalog.receive_stock(SKU, 1)  # cached at version 2
    version = _written_elsewhere(store, lambda item: item.receive(5, "NF-9"))
    assert catalog.receive_stock(SKU, 1, expected_version=version).version == version + 1
    with pytest.raises(VersionConflictError):
        catalog.receive_stock(SKU, 1, expected_version=version)  # now behind
