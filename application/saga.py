"""The checkout saga: a process manager on the library's `EventSourcedProjection`.

It follows the log and, for each event it cares about, decides the next step and collects
the new events on the processing event: they commit in one transaction with the saga's
position, so after a crash at any point no step is lost or done twice.

    Order.Placed        -> reserve every line (all or none) and request the payment,
                           or cancel as insufficient_stock
    Payment.Authorized  -> confirm the order; if it was cancelled meanwhile, give the money back
    Payment.Declined    -> cancel the order as payment_declined (payment_failed when no
                           gateway answered) and release its reservations

Gateway calls, notifications and the timeout are side effects: the effect dispatcher sends
them to dramatiq when it sees the events recorded here.
"""

from __future__ import annotations

from functools import singledispatchmethod
from typing import Any
from uuid import UUID

from eventsourcing.application import ProcessingEvent
from eventsourcing.domain import DomainEventProtocol
from eventsourcing.persistence import Tracking
from eventsourcing.projection import EventSourcedProjection
from eventsourcing.utils import get_topic

from application.compensation import compensate
from application.event_store import EventStoreApp
from domain.base import EventMetadata, event_context
from domain.order import CANCELLED, PENDING, Order
from domain.payment import Payment
from domain.stock_item import InsufficientStockError, StockItem


def metadata_for(actor: str, cause: Any) -> EventMetadata:
    """Events a reaction emits keep the cause's correlation id and name it as cause."""
    return EventMetadata(
        actor=actor,
        correlation_id=getattr(cause, "correlation_id", ""),
        causation_id=f"event:{cause.originator_id}:{cause.originator_version}",
    )


class CheckoutSaga(EventSourcedProjection[UUID], EventStoreApp):
    topics = (
        get_topic(Order.Placed),
        get_topic(Payment.Authorized),
        get_topic(Payment.Declined),
    )

    def process_event(self, domain_event: DomainEventProtocol[UUID], tracking: Tracking) -> None:
        with event_context(metadata_for("system:saga", domain_event)):
            super().process_event(domain_event, tracking)

    def _load(self, aggregate_id: UUID) -> Any:
        return self.repository.get(aggregate_id)

    @singledispatchmethod
    def policy(self, domain_event: Any, processing_event: ProcessingEvent[UUID]) -> None:
        """Events the saga does not react to."""

    @policy.register
    def _placed(self, event: Order.Placed, processing_event: ProcessingEvent[UUID]) -> None:
        order: Order = self._load(event.originator_id)
        if order.status != PENDING or order.stock_reserved:
            return  # cancelled before the saga got here, or a step already taken
        items: list[StockItem] = [
            self._load(StockItem.create_id(line["sku"])) for line in order.lines
        ]
        try:
            for item, line in zip(items, order.lines, strict=True):
                item.reserve(order.id, line["quantity"])
        except InsufficientStockError as shortage:
            # Nothing is collected from `items`: no reservation was made, none to release.
            order.cancel("insufficient_stock", str(shortage))
            processing_event.collect_events(order)
            return
        order.mark_stock_reserved()
        payment = Payment(
            order_id=order.id,
            customer_id=order.customer_id,
            amount=order.totals.total,
            token=order.payment_method["token"],
            brand=order.payment_method["brand"],
            last4=order.payment_method["last4"],
        )
        processing_event.collect_events(order, *items, payment)

    @policy.register
    def _authorized(
        self, event: Payment.Authorized, processing_event: ProcessingEvent[UUID]
    ) -> None:
        payment: Payment = self._load(event.originator_id)
        order: Order = self._load(payment.order_id)
        if order.status == PENDING:
            order.confirm(payment.id)
            processing_event.collect_events(order)
        elif order.status == CANCELLED:
            payment.give_back(order.cancellation_reason or "order_cancelled")
            processing_event.collect_events(payment)

    @policy.register
    def _declined(self, event: Payment.Declined, processing_event: ProcessingEvent[UUID]) -> None:
        payment: Payment = self._load(event.originator_id)
        order: Order = self._load(payment.order_id)
        if order.status != PENDING:
            return
        reason = "payment_failed" if event.reason == "all_gateways_failed" else "payment_declined"
        processing_event.collect_events(*compensate(order, reason, event.reason, self.find))
