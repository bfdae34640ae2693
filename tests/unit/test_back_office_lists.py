"""The back office's lists and work queues (projections/back_office.py): a day's events in
memory, projected, then asked as the API and the console ask them."""

from __future__ import annotations

from eventsourcing.persistence import Tracking

from domain.money import Money
from projections.back_office import BackOfficeProjection
from projections.back_office_reader import BackOfficeReader, ProductFilter
from projections.memory import MemoryStore
from tests.checkout import register
from tests.unit.test_returns import shipped_order


def project(world) -> BackOfficeReader:
    store = MemoryStore()
    projector = BackOfficeProjection(store)
    for notification in world.services.store.recorder.select_notifications(1, 10_000):
        event = world.services.store.mapper.to_domain_event(notification)
        projector.process_event(event, Tracking("EcoVarejo", notification.id))
    return BackOfficeReader(store)


def test_products_are_listed_with_archived_ones_filtered_by_status_category_stock_and_words(
    world,
):
    register(world.services, "CAN-1", 3, "12.00")
    register(world.services, "CAN-2", 40, "8.00")
    world.services.catalog.archive_stock_item("CAN-2")
    world.services.catalog.change_price("CAN-1", Money.brl("13.50"))
    reader = project(world)

    everything = reader.products(ProductFilter())
    assert everything.total == 2
    archived = reader.products(ProductFilter(status="archived"))
    assert [r["sku"] for r in archived.items] == ["CAN-2"]
    low = reader.products(ProductFilter(low_stock=True))
    assert [r["sku"] for r in low.items] == ["CAN-1"]
    assert low.items[0]["price"] == {"amount": "13.50", "currency": "BRL"}
    assert reader.products(ProductFilter(q="can-2")).total == 1
    assert reader.products(ProductFilter(category="outra")).total == 0
    by_price = reader.products(ProductFilter(), sort="price", descending=False)
    assert [r["sku"] for r in by_price.items] == ["CAN-2", "CAN-1"]
    second_page = reader.products(ProductFilter(), page=2, size=1)
    assert (second_page.total, len(second_page.items)) == (2, 1)


def test_returns_move_between_status_queues_and_coupon_uses_are_counted(world):
    order_id = shipped_order(world, coupon="DEZ")
    result = world.services.returns.request_return(order_id, "ana", [("ECO-1", 1)], "defeito")
    reader = project(world)
    assert [r["return_id"] for r in reader.returns("requested").items] == [str(result.aggregate_id)]
    assert "reason" not in reader.returns("requested").items[0]  # the customer's words stay out
    world.services.returns.approve_return(result.aggregate_id)
    reader = project(world)
    assert reader.returns("requested").total == 0
    assert reader.returns("approved").total == 1
    assert reader.returns().total == 1
    promotion = reader.promotion("DEZ")
    assert promotion is not None
    assert (promotion["uses"], promotion["active"]) == (1, True)
    world.services.promotions.deactivate_promotion("DEZ")
    assert project(world).promotions(active=False).items[0]["code"] == "DEZ"
