"""Order commands after checkout: cancel (compensate), ship, time out, notify."""

from __future__ import annotations

from datetime import datetime
from functools import partial
from uuid import UUID

from application.catalog import CatalogService
from application.checkout.compensation import compensate
from application.checkout.policy import SUBJECTS_OF_ORDERS
from application.errors import OrderNotFoundError, RetryLaterError
from application.event_store import CommandResult, EventStore
from application.ports import Notification, Notifier
from domain.base import EcoAggregate, now
from domain.order import PENDING, Order
from domain.payment import CAPTURED, Payment
from domain.personal import DataSubject
from domain.stock_item import StockItem


class OrderService:
    def __init__(self, store: EventStore, catalog: CatalogService, notifier: Notifier | None):
        self.store = store
        self.catalog = catalog
        self.notifier = notifier
        self._any = partial(store.load, EcoAggregate)  # what compensation reads

    def order_of(self, order_id: UUID, customer_id: str | None = None) -> Order:
        """The order; with `customer_id`, only if it is that customer's (else not found)."""
        missing = OrderNotFoundError(f"no order {order_id}")
        return self.store.load(Order, order_id, missing, owner=customer_id)

    def payment_of(self, order: Order) -> Payment | None:
        """The payment of the order's current attempt (the one that confirmed it, if any)."""
        return self.store.load(Payment, order.current_payment_id)

    def _line_items(self, order: Order) -> list[StockItem]:
        return [self.catalog.stock_item(line.sku) for line in order.lines]

    def cancel_order(
        self,
        order_id: UUID,
        customer_id: str | None,
        detail: str,
        expected_version: int | None = None,
    ) -> CommandResult:
        """A customer (their own order) or an admin (`customer_id=None`) cancels."""
        order = self.order_of(order_id, customer_id)
        self.store.check_version(order, expected_version)
        reason = "customer_request" if customer_id is not None else "admin_request"
        return self.store.commit(*compensate(order, reason, detail, self._any))

    def ship_order(
        self,
        order_id: UUID,
        carrier: str,
        tracking_code: str,
        expected_version: int | None = None,
    ) -> CommandResult:
        """The parcel left: reservations leave the warehouse and the payment is captured."""
        order = self.order_of(order_id)
        self.store.check_version(order, expected_version)
        return self.ship(order, carrier, tracking_code)

    def ship(self, order: Order, carrier: str, tracking_code: str) -> CommandResult:
        order.ship(carrier, tracking_code)
        items = self._line_items(order)
        for item in items:
            item.commit(order.id)
        payment = self.payment_of(order)
        assert payment is not None  # a confirmed order has an authorized payment
        if payment.status != CAPTURED:  # Pix and boleto were captured when paid
            payment.request_capture(order.totals.total)
        return self.store.commit(order, *items, payment)

    def track_order(self, order_id: UUID, step: str, at: datetime) -> CommandResult | None:
        """A carrier's (or an admin's) report on the parcel; None when it changes nothing
        (out of order, a repeat, after delivery): recorded by the caller, never a regression."""
        order = self.order_of(order_id)
        if not order.track(step, at):
            return None
        return self.store.commit(order)

    def expire_order(self, order_id: UUID, attempt: str = "1") -> CommandResult | None:
        """The saga timeout: a checkout still pending on the same try at paying
        (`attempt`) is cancelled as `payment_timeout`."""
        order = self.order_of(order_id)
        if order.status != PENDING or order.payment_attempt != int(attempt):
            return None
        return self.store.commit(*compensate(order, "payment_timeout", "", self._any))

    def close_payment_retry(self, order_id: UUID) -> CommandResult | None:
        """The deadline a failed payment left: no other try under way -> the order is
        cancelled for that failure and what it holds given back. A try under way decides
        by itself (its failure after the deadline cancels)."""
        order = self.order_of(order_id)
        if order.retry_until is not None and order.retry_until > now():
            raise RetryLaterError(f"order {order_id} waits for a payment until {order.retry_until}")
        if not order.retry_lapsed(now()):
            return None
        reason = order.payment_failure
        assert reason is not None
        return self.store.commit(*compensate(order, reason, "", self._any))

    def notify_order(self, order_id: UUID, kind: str) -> None:
        """Tell the customer, unless erased. The order and its data subject are read in one
        round trip when this process's saga has seen the order (`SubjectsOfOrders`), else
        the order first and then its subject."""
        known = SUBJECTS_OF_ORDERS.subject_of(order_id)
        with self.store.reading([order_id] if known is None else [order_id, known]):
            order = self.order_of(order_id)
            subject_id = DataSubject.create_id(order.customer_id)
            subject = self.store.load(DataSubject, subject_id)
        SUBJECTS_OF_ORDERS.remember(order.id, subject_id)
        if subject is not None and subject.erased:
            return  # nothing is sent to an erased data subject
        if self.notifier is not None:
            self.notifier.send(
                Notification(
                    kind=kind,
                    order_id=str(order.id),
                    customer_id=order.customer_id,
                    detail=order.cancellation_reason or order.status,
                    key=f"{order.id}:{kind}",
                )
            )
