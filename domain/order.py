"""Order: what a customer bought, its totals and its footprint, and where it is in its life.

Status runs `pending -> confirmed -> shipped`, or ends `cancelled` with a reason. The
checkout saga moves a pending order on; an admin ships it; the customer or the saga cancels.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import event

from domain.base import DomainError, EcoAggregate
from domain.money import Money
from domain.personal import PersonalData

ORDER_NAMESPACE = uuid5(NAMESPACE_URL, "https://ecovarejo.com.br/order")
FREE_SHIPPING_FROM = Money.brl("199.00")
SHIPPING_FEE = Money.brl("19.90")

PENDING, CONFIRMED, SHIPPED, CANCELLED = "pending", "confirmed", "shipped", "cancelled"
CANCELLATION_REASONS = frozenset(
    {
        "insufficient_stock",
        "payment_declined",
        "payment_failed",
        "payment_timeout",
        "customer_request",
        "admin_request",
    }
)


class OrderError(DomainError):
    """Base of the errors an Order raises."""


class IllegalOrderTransitionError(OrderError):
    """The order's status does not allow this step (e.g. shipping a cancelled order)."""


class UnknownCancellationReasonError(OrderError):
    """A cancellation reason outside CANCELLATION_REASONS."""


@dataclass(frozen=True)
class Totals:
    subtotal: Money
    discount: Money
    shipping: Money
    total: Money


def price_order(lines: list[dict[str, Any]]) -> Totals:
    """Subtotal of the lines; shipping is free from FREE_SHIPPING_FROM; no discounts yet."""
    subtotal = sum((ln["unit_price"].times(ln["quantity"]) for ln in lines), Money.zero())
    shipping = Money.zero() if subtotal >= FREE_SHIPPING_FROM else SHIPPING_FEE
    discount = Money.zero()
    return Totals(subtotal, discount, shipping, subtotal - discount + shipping)


def order_id_for_cart(cart_id: UUID) -> UUID:
    """A cart checks out exactly once, so its order id is derived from the cart id."""
    return uuid5(ORDER_NAMESPACE, str(cart_id))


class Order(EcoAggregate):
    class Placed(EcoAggregate.Created):
        customer_id: str
        cart_id: UUID
        lines: list[dict[str, Any]]
        subtotal: Money
        discount: Money
        shipping: Money
        total: Money
        carbon_footprint_kg: Decimal
        shipping_address: PersonalData
        payment_method: dict[str, str]

    class StockReserved(EcoAggregate.Event):
        pass

    class Confirmed(EcoAggregate.Event):
        payment_id: UUID

    class Shipped(EcoAggregate.Event):
        carrier: str
        tracking_code: str

    class Cancelled(EcoAggregate.Event):
        reason: str
        detail: str

    @staticmethod
    def create_id(cart_id: UUID) -> UUID:
        return order_id_for_cart(cart_id)

    @classmethod
    def place(
        cls,
        *,
        customer_id: str,
        cart_id: UUID,
        lines: list[dict[str, Any]],
        shipping_address: PersonalData,
        payment_method: dict[str, str],
    ) -> Order:
        """`lines` hold sku, name, quantity, unit_price (Money) and carbon_footprint_kg."""
        totals = price_order(lines)
        footprint = sum(
            (Decimal(ln["carbon_footprint_kg"]) * ln["quantity"] for ln in lines), Decimal("0")
        )
        return cls(
            customer_id=customer_id,
            cart_id=cart_id,
            lines=lines,
            subtotal=totals.subtotal,
            discount=totals.discount,
            shipping=totals.shipping,
            total=totals.total,
            carbon_footprint_kg=footprint,
            shipping_address=shipping_address,
            payment_method=payment_method,
        )

    @event(Placed)
    def __init__(
        self,
        *,
        customer_id: str,
        cart_id: UUID,
        lines: list[dict[str, Any]],
        subtotal: Money,
        discount: Money,
        shipping: Money,
        total: Money,
        carbon_footprint_kg: Decimal,
        shipping_address: PersonalData,
        payment_method: dict[str, str],
    ) -> None:
        self.customer_id = customer_id
        self.cart_id = cart_id
        self.lines = lines
        self.totals = Totals(subtotal, discount, shipping, total)
        self.carbon_footprint_kg = carbon_footprint_kg
        self.shipping_address = shipping_address
        self.payment_method = payment_method
        self.status = PENDING
        self.stock_reserved = False
        self.payment_id: UUID | None = None
        self.cancellation_reason: str | None = None

    # Guards -------------------------------------------------------------------------------
    def check_status(self, *allowed: str, action: str) -> None:
        if self.status not in allowed:
            raise IllegalOrderTransitionError(
                f"cannot {action} order {self.id}: it is {self.status}"
            )

    @staticmethod
    def check_reason(reason: str) -> None:
        if reason not in CANCELLATION_REASONS:
            raise UnknownCancellationReasonError(f"unknown cancellation reason {reason!r}")

    # Commands ----------------------------------------------------------------------------
    def mark_stock_reserved(self) -> None:
        self.check_status(PENDING, action="reserve stock for")
        if not self.stock_reserved:
            self._stock_reserved()

    def confirm(self, payment_id: UUID) -> None:
        self.check_status(PENDING, action="confirm")
        if not self.stock_reserved:
            raise IllegalOrderTransitionError(f"order {self.id} has no stock reserved")
        self._confirmed(payment_id=payment_id)

    def ship(self, carrier: str, tracking_code: str) -> None:
        self.check_status(CONFIRMED, action="ship")
        self._shipped(carrier=carrier, tracking_code=tracking_code)

    def cancel(self, reason: str, detail: str = "") -> None:
        self.check_reason(reason)
        self.check_status(PENDING, CONFIRMED, action="cancel")
        self._cancelled(reason=reason, detail=detail)

    # Mutators ----------------------------------------------------------------------------
    @event(StockReserved)
    def _stock_reserved(self) -> None:
        self.stock_reserved = True

    @event(Confirmed)
    def _confirmed(self, payment_id: UUID) -> None:
        self.status = CONFIRMED
        self.payment_id = payment_id

    @event(Shipped)
    def _shipped(self, carrier: str, tracking_code: str) -> None:
        self.status = SHIPPED

    @event(Cancelled)
    def _cancelled(self, reason: str, detail: str) -> None:
        self.status = CANCELLED
        self.cancellation_reason = reason
