"""Random sequences of coupon applications, checkouts (approved and declined cards),
cancellations, shipments and returns, on the in-memory system (saga and effects run
inline). After every step: refunds never exceed captures, the orders read model shows every
refund as the order's `refunded_total`, a coupon is never used more
than its limit, stock is never negative, and every order's total is subtotal - discount +
shipping."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from eventsourcing.persistence import Tracking
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from domain.base import DomainError
from domain.money import Money
from domain.order import Order, OrderStatus
from domain.payment import Payment
from domain.promotion import Promotion
from domain.stock_item import StockItem
from projections.memory import MemoryStore
from projections.orders import OrdersProjection
from tests.checkout import ADDRESS, APPROVED, DECLINED, aggregates, card, check_invariants, register
from tests.worlds import memory_world

SKUS = ["ECO-A", "ECO-B", "ECO-C"]
LIMIT = 3


class Commerce(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self._worlds = memory_world()
        self.world = next(self._worlds)
        services = self.world.services
        for sku, price in zip(SKUS, ("30.00", "20.00", "15.50"), strict=True):
            register(services, sku, 6, price)
        now = datetime.now(tz=UTC)
        services.promotions.launch_promotion(
            code="LIM",
            description="",
            kind="percent",
            value=Decimal("15"),
            valid_from=now - timedelta(days=1),
            valid_until=now + timedelta(days=1),
            max_uses=LIMIT,
        )
        self.orders: list[uuid.UUID] = []

    def teardown(self) -> None:
        self._worlds.close()

    @rule(
        items=st.dictionaries(st.sampled_from(SKUS), st.integers(1, 3), min_size=1),
        coupon=st.booleans(),
        approved=st.booleans(),
        method=st.sampled_from(["standard", "express"]),
    )
    def check_out(self, items, coupon, approved, method):
        services = self.world.services
        customer = f"c-{uuid.uuid4().hex[:6]}"
        try:
            cart_id = services.checkout.create_cart(customer).aggregate_id
            for sku, quantity in items.items():
                services.checkout.add_cart_item(cart_id, customer, sku, quantity)
            if coupon:
                services.checkout.apply_coupon(cart_id, customer, "LIM")
            number = APPROVED if approved else DECLINED
            result = services.checkout.checkout(
                cart_id, customer, ADDRESS, card(number), shipping_method=method
            )
        except DomainError:
            return
        self.orders.append(result.aggregate_id)
        self.world.settle(deadlines=True)

    @rule(data=st.data())
    def cancel(self, data):
        if self.orders:
            order_id = data.draw(st.sampled_from(self.orders))
            try:
                self.world.services.orders.cancel_order(order_id, None, "")
            except DomainError:
                return
            self.world.settle()

    @rule(data=st.data())
    def ship(self, data):
        if self.orders:
            order_id = data.draw(st.sampled_from(self.orders))
            try:
                self.world.services.orders.ship_order(order_id, "Correios", "X")
            except DomainError:
                return
            self.world.settle()

    @rule(data=st.data(), receive=st.booleans())
    def give_back(self, data, receive):
        if not self.orders:
            return
        services = self.world.services
        order = services.orders.order_of(data.draw(st.sampled_from(self.orders)))
        wanted = [
            (line.sku, data.draw(st.integers(1, line.quantity)))
            for line in order.lines
            if data.draw(st.booleans())
        ]
        try:
            return_id = services.returns.request_return(
                order.id, order.customer_id, wanted, ""
            ).aggregate_id
            services.returns.approve_return(return_id)
            if receive:
                services.returns.receive_return(return_id)
        except DomainError:
            return
        self.world.settle()

    @invariant()
    def books_balance(self):
        found = aggregates(self.world.services)
        for payment in found[Payment]:
            assert payment.refunded <= payment.captured
        for order in found[Order]:
            totals = order.totals
            assert totals.total == totals.subtotal - totals.discount + totals.shipping
            # a whole withdrawal refunds everything paid, shipping included (CDC art. 49)
            assert order.refunded_total <= totals.total
            if order.status in (OrderStatus.PARTIALLY_RETURNED, OrderStatus.RETURNED):
                assert order.refunded_total.is_positive or totals.subtotal == totals.discount
        promotion: Promotion = self.world.services.promotions.promotion("LIM")
        assert promotion.use_count <= LIMIT
        holding = [o for o in found[Order] if o.coupon and o.status != OrderStatus.CANCELLED]
        assert promotion.use_count == len(holding)  # every compensation gave its use back
        for item in found[StockItem]:
            assert item.available >= 0
        check_invariants(self.world.services, final=False)

    @invariant()
    def every_refund_shows_on_its_order(self):
        """Whatever path refunded it (a return, a cancellation after capture), the order's
        read model shows as `refunded_total` exactly what its payment gave back."""
        services = self.world.services
        view = MemoryStore()
        projector = OrdersProjection(view)
        position = 0
        while batch := services.store.recorder.select_notifications(start=position + 1, limit=1000):
            for notification in batch:
                event = services.store.mapper.to_domain_event(notification)
                projector.process_event(event, Tracking("EcoVarejo", notification.id))
            position = batch[-1].id
        for payment in aggregates(services)[Payment]:
            doc = view.get(f"order:{payment.order_id}")
            assert doc is not None
            assert Money.from_dict(doc["refunded_total"]) == payment.refunded


TestCommerce = Commerce.TestCase
TestCommerce.settings = settings(
    max_examples=25,
    stateful_step_count=15,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
