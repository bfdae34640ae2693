"""A saga step's read ahead (application/event_store.py: `EcoRepository.prefetched`): the
aggregates a step is about to load read in one statement (the recorder's
`select_events_after`), each load then taking its own from there once — the same
aggregates separate reads give, a second load reading afresh, nothing kept after."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from application.event_store import EcoRepository, EventStore
from domain.base import EventMetadata, event_context
from domain.cart import Cart
from domain.stock_item import StockItem
from infrastructure.bootstrap import Container
from tests.stock_items import log_reads, store_with_stock_item

SKU = "ECO-AHEAD-1"


@pytest.fixture
def store(container: Container) -> Iterator[EventStore]:
    yield from store_with_stock_item(container, SKU)


def _cart(store: EventStore) -> Cart:
    with event_context(EventMetadata("customer:c1", "corr", "cause")):
        cart = Cart(customer_id="c1")
        store.commit(cart)
    return cart


def test_a_read_ahead_loads_in_one_statement_what_separate_reads_load(
    store: EventStore,
) -> None:
    item_id = StockItem.create_id(SKU)
    repository = store.repository
    assert isinstance(repository, EcoRepository)
    repository.get(item_id)  # now cached
    cart = _cart(store)
    separately = (store.get_aggregate_of(Cart, cart.id), repository.get(item_id))
    calls = log_reads(store)
    with repository.prefetched([cart.id], cached=[item_id]):
        together = (store.get_aggregate_of(Cart, cart.id), repository.get(item_id))
    assert calls == ["select_events_after"]
    assert together[0].__dict__ == separately[0].__dict__
    assert together[1].__dict__ == separately[1].__dict__


def test_a_second_load_in_the_block_and_any_load_after_it_read_afresh(
    store: EventStore,
) -> None:
    item_id = StockItem.create_id(SKU)
    store.repository.get(item_id)
    cart = _cart(store)
    calls = log_reads(store)
    repository: Any = store.repository
    with repository.prefetched([cart.id], cached=[item_id]):
        store.get_aggregate_of(Cart, cart.id)
        store.get_aggregate_of(Cart, cart.id)
    store.get_aggregate_of(Cart, cart.id)
    assert calls == ["select_events_after", "select_events", "select_events"]


def test_a_read_ahead_sees_what_was_written_after_the_cached_copy(
    container: Container, store: EventStore
) -> None:
    item_id = StockItem.create_id(SKU)
    repository: Any = store.repository
    repository.get(item_id)
    other = EventStore(env={**store.env, "CREATE_TABLE": "n"})  # another process's writes
    with event_context(EventMetadata("admin:test", "corr", "cause")):
        item = other.repository.get(item_id)
        item.receive(5, "NF-1")
        other.commit(item)
    cart = _cart(store)
    with repository.prefetched([cart.id], cached=[item_id]):
        loaded = repository.get(item_id)
    assert loaded.on_hand == 15
    assert loaded.version == item.version
