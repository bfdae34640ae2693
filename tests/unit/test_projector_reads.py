"""A projector's reads on the rebuild path: `peek` hands over a batch's pending document
without copying it, and a projector that reads with it (the stock-item projector) never
changes what it was handed; `evolve` is dispatched per event class as
`singledispatchmethod` would dispatch it, and a plain `evolve` still runs."""

from __future__ import annotations

import copy
import uuid
from functools import singledispatchmethod

from eventsourcing.persistence import Tracking

from domain.money import Money
from domain.stock_item import StockItem
from projections.base import Batch, Delete, Derived, Projector, Put
from projections.catalog import StockItemsProjection, public_of, stock_key, stored
from projections.memory import MemoryStore


def t(position: int) -> Tracking:
    return Tracking("EcoVarejo", position)


def test_peek_hands_over_the_pending_document_and_get_a_copy():
    batch = Batch(MemoryStore(), size=100, fresh=True)
    batch.apply([Put("k", {"n": [1]})], t(1))
    assert batch.peek("k") is batch.peek("k")
    assert batch.get("k") == batch.peek("k")
    assert batch.get("k") is not batch.peek("k")
    assert batch.peek("missing") is None
    store = MemoryStore()
    store.apply([Put("k", {"n": 1})], t(1))
    assert Batch(store, size=100).peek("k") == {"n": 1}  # not pending: the store's


def test_a_derived_document_is_made_once_when_read_or_written_and_then_as_a_put():
    made = []

    def public(doc):
        made.append(doc["n"])
        return {"shown": doc["n"]}

    store = MemoryStore()
    batch = Batch(store, size=100, fresh=True)
    for n in range(1, 4):  # three events change the source: nothing derived yet
        batch.apply([Put("src", {"n": n}), Derived("pub", {"n": n}, public)], t(n))
    assert made == []
    assert batch.peek("pub") == {"shown": 3}
    assert batch.get("pub") == {"shown": 3}
    batch.flush()
    assert made == [3]  # once, for the last: read, copied and written from the same
    assert store.get("pub") == {"shown": 3}
    batch.apply([Derived("pub", {"n": 4}, public), Delete("pub")], t(4))
    batch.flush()
    assert store.get("pub") is None  # the later change of the key wins, underived
    assert made == [3]
    assert isinstance(Derived("k", {"n": 5}, public), Put)  # to every store, a `Put`


def test_the_stock_items_public_document_is_derived_as_it_was_made_before():
    doc = {"sku": "ECO-1", "name": "Garrafa", "on_hand": 3, "sustainability": {}, "x": 1}
    stock, public = stored(dict(doc))
    assert stock == Put(stock_key("ECO-1"), {**doc, "product_id": stock.doc["product_id"]})
    assert public.doc == public_of(stock.doc)
    assert list(public.doc)[:3] == ["sku", "name", "description"]  # PUBLIC_FIELDS' order
    assert "sustainability" not in public.doc
    assert "x" not in public.doc


def test_the_stock_projector_never_changes_a_document_it_peeked():
    item = StockItem.register(
        sku="ECO-1",
        name="Garrafa",
        description="inox",
        category="casa",
        price=Money.brl("50.00"),
        initial_quantity=10,
        sustainability={"carbon_footprint_kg": "1.5", "certifications": ["FSC"]},
    )
    registered = item.collect_events()
    item.receive(5)
    item.reserve(uuid.uuid4(), 3)
    item.change_price(Money.brl("40.00"))
    later = item.collect_events()
    batch = Batch(MemoryStore(), size=100, fresh=True)
    projector = StockItemsProjection(batch)
    position = 0
    for event in registered:
        position += 1
        projector.process_event(event, t(position))
    for event in later:
        held = batch.peek(stock_key("ECO-1"))
        before = copy.deepcopy(held)
        position += 1
        projector.process_event(event, t(position))
        assert held == before  # the new version is a new document
        assert batch.peek(stock_key("ECO-1")) is not held
    doc = batch.get(stock_key("ECO-1"))
    assert (doc["on_hand"], doc["reserved"], doc["available"]) == (15, 3, 12)
    assert doc["price"] == {"amount": "40.00", "currency": "BRL"}


class Base:
    pass


class Child(Base):
    pass


class Other:
    pass


class Dispatching(Projector):
    @singledispatchmethod
    def evolve(self, domain_event: object) -> list:
        return [Put("seen", {"by": "default"})]

    @evolve.register
    def _base(self, event: Base) -> list:
        return [Put("seen", {"by": "base", "class": type(event).__name__})]


class Plain(Projector):
    def evolve(self, domain_event):  # type: ignore[override]
        return [Put("seen", {"by": "plain", "n": (self.view.get("seen") or {"n": 0})["n"] + 1})]


def test_evolve_is_dispatched_per_event_class_as_singledispatch_would():
    store = MemoryStore()
    projector = Dispatching(store)
    for position, (event, expected) in enumerate(
        [
            (Child(), {"by": "base", "class": "Child"}),
            (Base(), {"by": "base", "class": "Base"}),
            (Other(), {"by": "default"}),
            (Child(), {"by": "base", "class": "Child"}),
        ],
        start=1,
    ):
        projector.process_event(event, t(position))
        assert store.get("seen") == expected
    plain = MemoryStore()
    projector = Plain(plain)
    for position in (1, 2, 3):
        projector.process_event(Other(), t(position))
    assert plain.get("seen") == {"by": "plain", "n": 3}
