"""A store with one stock item registered, and a count of its log reads: the fixture body
and the probe of the write path's cache and read-ahead tests."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from application.event_store import EventStore
from domain.base import EventMetadata, event_context
from domain.money import Money
from infrastructure.bootstrap import Container


def store_with_stock_item(container: Container, sku: str) -> Iterator[EventStore]:
    """The container's event store after one stock item `sku` (10 in stock) is registered."""
    with event_context(EventMetadata("admin:test", "corr", "cause")):
        container.services.catalog.register_stock_item(
            sku=sku,
            name="Sabão",
            description="",
            category="casa",
            price=Money.brl("9.90"),
            initial_quantity=10,
            sustainability={"carbon_footprint_kg": "0.1"},
        )
        yield container.services.store


def log_reads(
    store: EventStore, names: tuple[str, ...] = ("select_events", "select_events_after")
) -> list[str]:
    """The reads of the store's recorder from now on, by name (the methods `names`)."""
    calls: list[str] = []
    recorder: Any = store.recorder
    for name in names:
        original = getattr(recorder, name)

        def counted(*args: Any, _original: Any = original, _name: str = name, **kw: Any) -> Any:
            calls.append(_name)
            return _original(*args, **kw)

        setattr(recorder, name, counted)
    return calls
