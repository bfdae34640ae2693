"""The write path's shortcuts (application/write_path.py) answer as the library does: the
same events and aggregates collected, the same refusal of an event that cannot mutate, the
same aggregate replayed."""

from __future__ import annotations

from typing import Any

import pytest
from eventsourcing.application import ProcessingEvent

from application.event_store import EventStore
from application.write_path import LeanProcessingEvent, LeanRepository, project_aggregate
from domain.base import EventMetadata, event_context
from domain.money import Money
from domain.stock_item import StockItem
from infrastructure.store.memory import memory_env


def _item(sku: str) -> StockItem:
    with event_context(EventMetadata("admin:test", "corr", "cause")):
        item = StockItem.register(
            sku=sku,
            name="Garrafa",
            description="inox",
            category="casa",
            price=Money.brl("10.00"),
            initial_quantity=1,
            sustainability={"carbon_footprint_kg": "1.0", "certifications": [], "recyclable": True},
        )
        item.receive(2, "nota 1")
    return item


def _collected(kind: type[ProcessingEvent[Any]]) -> tuple[list[Any], dict[Any, Any]]:
    first, second = _item("ECO-1"), _item("ECO-2")
    loose = _item("ECO-3").collect_events()[0]  # an event saved on its own
    processing = kind()
    processing.collect_events(first, None, loose, second, note="x")
    processing.collect_events(first)  # nothing pending any more
    return processing.events, processing.aggregates


def test_collects_the_same_events_and_aggregates_as_the_library() -> None:
    lean_events, lean_aggregates = _collected(LeanProcessingEvent)
    library_events, library_aggregates = _collected(ProcessingEvent)
    assert [(type(e), e.originator_version) for e in lean_events] == [
        (type(e), e.originator_version) for e in library_events
    ]
    assert len(lean_events) == 5
    assert [type(a) for a in lean_aggregates.values()] == [
        type(a) for a in library_aggregates.values()
    ]


def test_an_event_that_cannot_mutate_is_refused_every_time() -> None:
    class NotAnEvent:
        pass

    for _ in range(2):  # not remembered as a mutating class after a refusal
        with pytest.raises(AssertionError):
            project_aggregate(None, [NotAnEvent()])


def test_the_store_replays_and_saves_through_the_lean_path() -> None:
    store = EventStore(env=memory_env("write-path"))
    assert isinstance(store.repository, LeanRepository)
    item = _item("ECO-9")
    with event_context(EventMetadata("admin:test", "corr", "cause")):
        store.save(item)
        loaded = store.repository.get(item.id)
        loaded.receive(5, "nota 2")
        store.save(loaded)
    again = store.repository.get(item.id)
    assert again.version == 3
    assert again.available == item.available + 5
    assert store.repository.get(item.id, version=2).available == item.available
