"""Returns: the customer asks, an admin approves or rejects, then receives the parcel; the
receipt restocks the units and refunds their share through the gateway that captured."""

from __future__ import annotations

from uuid import UUID

from application.errors import ReturnNotFoundError
from application.event_store import CommandResult, EventStore
from application.orders import OrderService
from domain.base import now
from domain.delivery import ReturnKind, ReturnWindows
from domain.payment import Payment, payment_id_for_order
from domain.returns import Return, refund_reason


class ReturnService:
    """A return opens on, and settles with, its order."""

    def __init__(self, store: EventStore, orders: OrderService, return_windows: ReturnWindows):
        self.store = store
        self.orders = orders
        self.return_windows = return_windows

    def return_of(self, return_id: UUID, customer_id: str | None = None) -> Return:
        """The return; with `customer_id`, only if it is that customer's (else not found)."""
        missing = ReturnNotFoundError(f"no return {return_id}")
        return self.store.load(Return, return_id, missing, owner=customer_id)

    def request_return(
        self,
        order_id: UUID,
        customer_id: str,
        lines: list[tuple[str, int]],
        reason: str,
        expected_version: int | None = None,
        kind: str = ReturnKind.WITHDRAWAL,
    ) -> CommandResult:
        """Some units of some lines, as a withdrawal (7 days from delivery) or a defect
        (30/90 days from delivery): 409 outside the window, beyond what was bought, or for
        an order not shipped; 404 for someone else's order. `expected_version` is the
        order's. A withdrawal of everything still with the shopper refunds shipping too."""
        order = self.orders.order_of(order_id, customer_id)
        self.store.check_version(order, expected_version)
        chosen = ReturnKind(kind)
        priced = order.quote_return(lines, now(), chosen, self.return_windows)
        shipping = order.shipping_refund_for(chosen, priced)
        request = Return.request(
            order_id=order.id,
            customer_id=customer_id,
            lines=priced,
            reason=reason,
            subject_erased=order.shipping_address.erased,
            kind=chosen,
            shipping_refund=shipping,
        )
        order.open_return(request.id, request.lines, shipping)
        return self.store.commit(request, order)

    def approve_return(self, return_id: UUID, expected_version: int | None = None) -> CommandResult:
        request = self.return_of(return_id)
        self.store.check_version(request, expected_version)
        request.approve()
        return self.store.commit(request)

    def reject_return(
        self, return_id: UUID, reason: str, expected_version: int | None = None
    ) -> CommandResult:
        request = self.return_of(return_id)
        self.store.check_version(request, expected_version)
        order = self.orders.order_of(request.order_id)
        request.reject(reason, subject_erased=order.shipping_address.erased)
        order.close_return(request.id)
        return self.store.commit(request, order)

    def receive_return(self, return_id: UUID, expected_version: int | None = None) -> CommandResult:
        """The parcel is back: restock its units and refund their share (one refund at a
        time per payment: 409 while another is under way)."""
        request = self.return_of(return_id)
        self.store.check_version(request, expected_version)
        request.receive()
        order = self.orders.order_of(request.order_id)
        order.complete_return(request.id)
        items = [self.orders.catalog.stock_item(line.sku) for line in request.lines]
        for item, line in zip(items, request.lines, strict=True):
            item.restock(order.id, line.quantity)
        payment = self.store.load(
            Payment, payment_id_for_order(order.id), ReturnNotFoundError("no payment")
        )
        if request.refund.is_positive:
            payment.request_refund(request.refund, refund_reason(request.id))
        else:
            request.mark_refunded()
        return self.store.commit(request, order, payment, *items)
