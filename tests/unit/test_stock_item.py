from datetime import UTC, datetime
from uuid import uuid4

import pytest

from domain.base import EventMetadata, InvalidInputError, event_context
from domain.money import Money
from domain.stock_item import (
    InsufficientStockError,
    InvalidStockQuantityError,
    ReservationNotFoundError,
    StockItem,
)


def make_item(quantity: int = 10) -> StockItem:
    return StockItem.register(
        sku="ECO-1",
        name="Sabonete",
        description="",
        category="higiene",
        price=Money.brl("10.00"),
        initial_quantity=quantity,
        sustainability={"carbon_footprint_kg": "0.5", "certifications": ["IBD"]},
    )


def test_available_is_on_hand_minus_reserved():
    item = make_item(10)
    item.reserve(uuid4(), 3)
    assert (item.on_hand, item.reserved, item.available) == (10, 3, 7)


def test_refuses_reservation_beyond_available():
    item = make_item(2)
    with pytest.raises(InsufficientStockError):
        item.reserve(uuid4(), 3)
    assert item.available == 2


def test_reserving_the_same_reservation_twice_is_a_no_op():
    item = make_item(10)
    order = uuid4()
    item.reserve(order, 4)
    item.reserve(order, 4)
    assert item.reserved == 4
    assert len(item.collect_events()) == 2  # Registered, Reserved


def test_releasing_twice_is_a_no_op():
    item = make_item(10)
    order = uuid4()
    item.reserve(order, 4)
    item.release(order)
    item.release(order)
    assert item.available == 10
    assert [type(e).__name__ for e in item.collect_events()] == [
        "Registered",
        "Reserved",
        "Released",
    ]


def test_commit_takes_reserved_units_out_of_the_warehouse():
    item = make_item(10)
    order = uuid4()
    item.reserve(order, 4)
    item.commit(order)
    assert (item.on_hand, item.reserved, item.available) == (6, 0, 6)
    with pytest.raises(ReservationNotFoundError):
        item.commit(order)


def test_refuses_adjustment_below_what_is_reserved():
    item = make_item(5)
    item.reserve(uuid4(), 4)
    with pytest.raises(InsufficientStockError):
        item.adjust(-2, "breakage")
    item.adjust(-1, "breakage")
    assert item.available == 0


@pytest.mark.parametrize("quantity", [0, -1, 1_000_001, True])
def test_refuses_receipts_that_are_not_positive_integers(quantity):
    with pytest.raises(InvalidStockQuantityError):
        make_item().receive(quantity)


def test_refuses_zero_price():
    with pytest.raises(InvalidInputError):
        make_item().change_price(Money.brl("0"))


def test_events_carry_the_context_metadata_and_clock():
    class FixedClock:
        def now(self) -> datetime:
            return datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)

    meta = EventMetadata(actor="admin:ana", correlation_id="corr-1", causation_id="req-1")
    with event_context(meta, FixedClock()):
        item = make_item()
        item.receive(3)
    for e in item.collect_events():
        assert (e.actor, e.correlation_id, e.causation_id) == ("admin:ana", "corr-1", "req-1")
        assert e.timestamp == datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)


def test_stock_item_id_is_derived_from_the_sku():
    assert make_item().id == StockItem.create_id("ECO-1")


def test_a_copy_holds_its_own_reservations_and_containers():
    import copy

    item = make_item(5)
    order = uuid4()
    item.reserve(order, 2)
    clone = copy.deepcopy(item)
    clone.reserve(uuid4(), 1)
    clone.release(order)
    assert item.reservations == {str(order): 2}
    assert item.available == 3
    assert clone.available == 4
    assert clone.sustainability == item.sustainability
