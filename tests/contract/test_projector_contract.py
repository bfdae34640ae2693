"""Projectors by behaviour: given these events, expect these documents. Each case runs
against the in-memory store and against Redis (the real Lua write), alone and in batches:
one contract for every `ReadStore` the projectors write, as the search contract does for
its two adapters."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import Any

import pytest
import redis
from eventsourcing.persistence import Tracking

from domain.cart import Cart
from domain.customer import Customer
from domain.money import Money
from domain.order import Order, OrderLine, PaymentMethod
from domain.personal import DataSubject, PersonalData
from domain.returns import Return, ReturnLine
from domain.stock_item import StockItem
from infrastructure.read_stores.redis_views import RedisDocumentView
from projections.analytics import AnalyticsProjection
from projections.base import Batch, Projector, ReadStore
from projections.carts import CartsProjection
from projections.catalog import StockItemsProjection
from projections.memory import MemoryStore
from projections.orders import OrdersProjection
from projections.readers import STAFF, AnalyticsReader, OrdersReader, Viewer

Store = Callable[[], Any]


@pytest.fixture(params=["memory", "redis", "redis-batched"])
def store(request: pytest.FixtureRequest) -> Iterator[Store]:
    """A fresh store per call, and how to feed it (one write per event, or batched)."""
    if request.param == "memory":
        yield MemoryStore
        return
    client = redis.Redis.from_url(request.getfixturevalue("redis_url"))
    yield lambda: RedisDocumentView(client, f"contract{uuid.uuid4().hex[:8]}")
    client.close()


def play(projector_class: type[Projector], view: ReadStore, batched: bool, *aggregates) -> None:
    target: ReadStore = Batch(view, size=2) if batched else view
    projector = projector_class(target)
    position = 0
    for aggregate in aggregates:
        for event in aggregate.collect_events():
            position += 1
            projector.process_event(event, Tracking("EcoVarejo", position))
    if isinstance(target, Batch):
        target.flush()
    assert view.max_tracking_id("EcoVarejo") == position  # every event moved the position


@pytest.fixture
def batched(request: pytest.FixtureRequest) -> bool:
    return "batched" in request.node.callspec.params.get("store", "")


def product(sku: str = "ECO-1", quantity: int = 10) -> StockItem:
    return StockItem.register(
        sku=sku,
        name="Garrafa",
        description="inox",
        category="casa",
        price=Money.brl("50.00"),
        initial_quantity=quantity,
        sustainability={"carbon_footprint_kg": "1.5", "certifications": ["FSC"]},
    )


def order(customer: str = "ana", quantity: int = 2, price: str = "50.00") -> Order:
    return Order.place(
        customer_id=customer,
        cart_id=uuid.uuid4(),
        lines=[OrderLine("ECO-1", "Garrafa", quantity, Money.brl(price), Decimal("1.5"))],
        shipping_address=PersonalData(customer, {"city": "Recife"}),
        payment_method=PaymentMethod("card", "t", "visa", "4242"),
    )


def test_a_stock_item_shows_what_is_on_hand_reserved_and_available(store, batched):
    item = product(quantity=10)
    item.receive(5)
    item.reserve(uuid.uuid4(), 3)
    view = store()
    play(StockItemsProjection, view, batched, item)
    doc = view.get("stock:ECO-1")
    assert (doc["on_hand"], doc["reserved"], doc["available"], doc["version"]) == (15, 3, 12, 3)
    assert doc["price"] == {"amount": "50.00", "currency": "BRL"}
    assert doc["carbon_footprint_kg"] == "1.5"


def test_events_of_a_stock_item_never_registered_change_nothing(store, batched):
    item = product()
    item.collect_events()  # its registration is not in this log
    item.receive(1)
    view = store()
    play(StockItemsProjection, view, batched, item)
    assert view.get("stock:ECO-1") is None


def test_a_cart_adds_lines_of_the_same_sku_up_and_totals_them(store, batched):
    cart = Cart(customer_id="ana")
    cart.add_item("ECO-1", "Garrafa", 1, Money.brl("50.00"))
    cart.add_item("ECO-1", "Garrafa", 2, Money.brl("50.00"))
    cart.add_item("ECO-2", "Escova", 1, Money.brl("12.00"))
    cart.remove_item("ECO-2")
    view = store()
    play(CartsProjection, view, batched, cart)
    doc = view.get(f"cart:{cart.id}")
    assert [(i["sku"], i["quantity"]) for i in doc["items"]] == [("ECO-1", 3)]
    assert doc["total"] == {"amount": "150.00", "currency": "BRL"}
    assert (doc["status"], doc["customer_id"], doc["version"]) == ("open", "ana", 5)


def test_orders_are_indexed_newest_first_per_customer_and_status(store, batched):
    first, second, theirs = order("ana"), order("ana"), order("bia")
    second.mark_stock_reserved()
    second.confirm(uuid.uuid4())
    view = store()
    play(OrdersProjection, view, batched, first, second, theirs)
    orders = OrdersReader(view)
    mine = orders.page(Viewer("ana"))
    assert [d["order_id"] for d in mine.items] == [str(second.id), str(first.id)]
    assert mine.total == 2
    assert orders.page(STAFF, status="confirmed").total == 1
    assert orders.get(second.id, Viewer("ana"))["status"] == "confirmed"
    assert orders.page(STAFF).total == 3


def test_a_confirmed_then_cancelled_order_is_counted_and_taken_back(store, batched):
    sold, taken_back = order("ana", 2), order("bia", 1)
    for o in (sold, taken_back):
        o.mark_stock_reserved()
        o.confirm(uuid.uuid4())
    taken_back.cancel("customer_request")
    view = store()
    play(AnalyticsProjection, view, batched, product(), sold, taken_back)
    analytics = AnalyticsReader(view)
    [day] = analytics.rows("sales:day")
    assert (day["orders"], day["units"], day["revenue"]) == (1, 2, "100.00")
    [category] = analytics.rows("sales:category")
    assert (category["key"], category["units"]) == ("casa", 2)
    kg = {r["key"]: r["kg"] for r in analytics.rows("co2:order")}
    assert kg == {str(sold.id): "3.0", str(taken_back.id): "0.0"}


def test_sales_after_a_product_changes_category_count_under_the_new_one(store, batched):
    item = product()
    before, cancelled_later, after = order("ana", 2), order("bia", 1), order("caio", 3)
    for o in (before, cancelled_later):
        o.mark_stock_reserved()
        o.confirm(uuid.uuid4())
    view = store()
    play(AnalyticsProjection, view, batched, item, before, cancelled_later)
    item.edit(category="cozinha")
    cancelled_later.cancel("customer_request")  # counted under "casa": taken back from there
    after.mark_stock_reserved()
    after.confirm(uuid.uuid4())
    projector = AnalyticsProjection(view)
    for position, event in enumerate(
        [*item.collect_events(), *cancelled_later.collect_events(), *after.collect_events()],
        start=100,
    ):
        projector.process_event(event, Tracking("EcoVarejo", position))
    by_category = {
        r["key"]: (r["orders"], r["units"]) for r in AnalyticsReader(view).rows("sales:category")
    }
    assert by_category == {"casa": (1, 2), "cozinha": (1, 3)}
    co2 = {r["key"]: r["kg"] for r in AnalyticsReader(view).rows("co2:category")}
    assert co2 == {"casa": "3.0", "cozinha": "4.5"}


def test_a_customers_own_words_read_as_erased_once_their_data_is_erased(store, batched):
    cancelled, kept = order("ana"), order("bia")
    for o in (cancelled, kept):
        o.cancel("customer_request", "mudei de ideia")
    returned = Return.request(
        order_id=kept.id,
        customer_id="ana",
        lines=[ReturnLine("ECO-1", 1, Money.brl("50.00"))],
        reason="veio riscada",
    )
    returned.reject("fora do prazo")
    subject = DataSubject(customer_id="ana")
    view = store()
    play(OrdersProjection, view, batched, cancelled, kept, returned, subject)
    assert view.get(f"order:{cancelled.id}")["cancellation_detail"] == "mudei de ideia"
    assert view.get(f"return:{returned.id}")["reason"] == "veio riscada"
    subject.erase("customer:ana")
    projector = OrdersProjection(view)
    projector.process_event(*subject.collect_events(), Tracking("EcoVarejo", 100))
    assert view.get(f"order:{cancelled.id}")["cancellation_detail"] == {"erased": True}
    assert view.get(f"order:{kept.id}")["cancellation_detail"] == "mudei de ideia"
    request = view.get(f"return:{returned.id}")
    assert (request["reason"], request["rejection_reason"]) == ({"erased": True},) * 2
    assert view.get("words:ana") is None


def confirmed(customer: str, quantity: int) -> Order:
    placed = order(customer, quantity)
    placed.mark_stock_reserved()
    placed.confirm(uuid.uuid4())
    return placed


class Feed:
    """Events played one after the other into one store, as the log would order them."""

    def __init__(self, view: ReadStore, batched: bool):
        self.view = view
        self.target: ReadStore = Batch(view, size=2) if batched else view
        self.projector = AnalyticsProjection(self.target)
        self.position = 0

    def __call__(self, *aggregates: Any) -> AnalyticsReader:
        for aggregate in aggregates:
            for event in aggregate.collect_events():
                self.position += 1
                self.projector.process_event(event, Tracking("EcoVarejo", self.position))
        if isinstance(self.target, Batch):
            self.target.flush()
        return AnalyticsReader(self.view)


def test_only_customers_consenting_to_analytics_are_profiled_and_totals_stay_whole(store, batched):
    ana, bia = Customer(customer_id="ana"), Customer(customer_id="bia")
    ana.grant("analytics", "2026-11")
    bia.grant("marketing_email", "2026-11")
    analytics = Feed(store(), batched)(
        product(), ana, bia, confirmed("ana", 2), confirmed("bia", 1)
    )
    [row] = analytics.rows("customer")
    assert (row["key"], row["orders"], row["units"], row["revenue"], row["kg"]) == (
        "ana",
        1,
        2,
        "100.00",
        "3.0",
    )
    [day] = analytics.rows("sales:day")
    assert (day["orders"], day["units"]) == (2, 3)  # a total profiles no one: every sale


def test_consent_withdrawn_drops_the_profile_and_granted_again_counts_from_then_on(store, batched):
    ana = Customer(customer_id="ana")
    ana.grant("analytics", "2026-11")
    feed = Feed(store(), batched)
    first = confirmed("ana", 2)
    assert [r["units"] for r in feed(product(), ana, first).rows("customer")] == [2]
    ana.withdraw("analytics")
    assert feed(ana).rows("customer") == []
    assert feed(confirmed("ana", 1)).rows("customer") == []  # no consent: not profiled
    ana.grant("analytics", "2026-11")
    first.cancel("customer_request")  # counted under the withdrawn grant: nothing to take back
    [row] = feed(ana, first, confirmed("ana", 3)).rows("customer")
    assert (row["orders"], row["units"]) == (1, 3)
    [day] = feed().rows("sales:day")
    assert (day["orders"], day["units"]) == (2, 4)  # 2 + 1 + 3 sold, 2 cancelled


def test_an_erased_customer_is_no_longer_profiled(store, batched):
    ana = Customer(customer_id="ana")
    ana.grant("analytics", "2026-11")
    feed = Feed(store(), batched)
    assert len(feed(product(), ana, confirmed("ana", 1)).rows("customer")) == 1
    ana.forget("customer:ana")
    assert feed(ana, confirmed("ana", 1)).rows("customer") == []
    assert feed.view.get(f"consent:{ana.id}") is None  # nothing kept of them
