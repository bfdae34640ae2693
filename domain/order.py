"""Order: what a customer bought, its totals and its footprint, and where it is in its life.

Status runs `pending -> confirmed -> shipped`, or ends `cancelled` with a reason. The
checkout saga moves a pending order on; an admin ships it; the customer or the saga cancels.

A failed payment (declined, no gateway, expired) may leave the order `awaiting_payment`, its
stock held, until a deadline (`PaymentFailed`); the shopper tries again with a new card, Pix
or boleto (`PaymentRetried`: pending again, a new Payment per attempt); at the deadline with
no try under way it is cancelled for the failure. The order points at its current attempt's
payment (`current_payment_id`); earlier attempts never confirm it.
`OrderStatus` and `CancellationReason` are the one list of both, used by the domain, the
projections, the API schemas and the metrics.

Event payloads are typed values (`OrderLine`, `PaymentMethod`, `Money`) with transcodings
(application/event_store.py). `Order.Placed` events written before they existed (class
version 1: lines and payment method as plain dicts) are upcast when read.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import event

from domain.base import DomainError, EcoAggregate, now
from domain.delivery import (
    DEFAULT_WINDOWS,
    DeliveryStep,
    ReturnKind,
    ReturnWindows,
    step_applies,
)
from domain.money import CENTS, Money
from domain.payment import payment_id_for_order
from domain.personal import UNKNOWN_SUBJECT, PersonalData, free_text
from domain.returns import ReturnLine
from domain.text import outside_text

ORDER_NAMESPACE = uuid5(NAMESPACE_URL, "https://ecovarejo.com.br/order")
FREE_SHIPPING_FROM = Money.brl("199.00")
SHIPPING_FEE = Money.brl("19.90")

DEFAULT_WEIGHT_GRAMS = 500
# Carriers write times to the second, on their own clocks: a report this much "before"
# the shipment is taken as at it; earlier ones are not about this parcel.
CLOCK_SKEW = timedelta(minutes=5)


class OrderStatus(StrEnum):
    PENDING = "pending"
    AWAITING_PAYMENT = "awaiting_payment"
    AWAITING_AUTHENTICATION = "awaiting_authentication"  # 3-D Secure: the shopper acts
    CONFIRMED = "confirmed"
    SHIPPED = "shipped"
    DELIVERED = "delivered"
    PARTIALLY_RETURNED = "partially_returned"
    RETURNED = "returned"
    CANCELLED = "cancelled"


class CancellationReason(StrEnum):
    INSUFFICIENT_STOCK = "insufficient_stock"
    COUPON_UNAVAILABLE = "coupon_unavailable"
    PAYMENT_DECLINED = "payment_declined"
    PAYMENT_FAILED = "payment_failed"
    PAYMENT_TIMEOUT = "payment_timeout"
    PAYMENT_EXPIRED = "payment_expired"
    CUSTOMER_REQUEST = "customer_request"
    ADMIN_REQUEST = "admin_request"


PENDING, CONFIRMED = OrderStatus.PENDING, OrderStatus.CONFIRMED
SHIPPED, CANCELLED = OrderStatus.SHIPPED, OrderStatus.CANCELLED
CANCELLATION_REASONS = frozenset(CancellationReason)
# Placed and reserved, waiting for the payer (Pix, boleto) or the card's authentication.
WAITING = (OrderStatus.AWAITING_PAYMENT, OrderStatus.AWAITING_AUTHENTICATION)


class OrderError(DomainError):
    """Base of the errors an Order raises."""


class IllegalOrderTransitionError(OrderError):
    """The order's status does not allow this step (e.g. shipping a cancelled order)."""


class ReturnWindowClosedError(OrderError):
    """The withdrawal window (7 days from delivery) or the defect window has closed."""


class ReturnExceedsPurchaseError(OrderError):
    """More units than were bought (less those already being or been returned)."""


class NotInOrderError(OrderError):
    """The SKU is not a line of this order."""


class UnknownCancellationReasonError(OrderError):
    """A cancellation reason outside CANCELLATION_REASONS."""


class LabelUnderWayError(OrderError):
    """A label for another service is being bought for this order."""


class PaymentAttemptPendingError(OrderError):
    """Another try at paying while one is still under way (or the order needs none)."""


class PaymentWindowClosedError(OrderError):
    """Another try at paying after the deadline the failed payment left open."""


# What a failed attempt at paying is called when the order is given up for it.
PAYMENT_FAILURES = frozenset(
    {
        CancellationReason.PAYMENT_DECLINED,
        CancellationReason.PAYMENT_FAILED,
        CancellationReason.PAYMENT_EXPIRED,
    }
)


@dataclass(frozen=True)
class OrderLine:
    """One line as bought: the price charged, its share of the order's discount (so a
    partial refund gives back exactly what was paid for it), and its footprint per unit."""

    sku: str
    name: str
    quantity: int
    unit_price: Money
    carbon_footprint_kg: Decimal  # per unit
    discount: Money = field(default_factory=Money.zero)
    weight_grams: int = DEFAULT_WEIGHT_GRAMS  # per unit

    @property
    def gross(self) -> Money:
        return self.unit_price.times(self.quantity)

    @property
    def net(self) -> Money:
        return self.gross - self.discount

    @property
    def footprint_kg(self) -> Decimal:
        return self.carbon_footprint_kg * self.quantity

    def to_dict(self) -> dict[str, Any]:
        return {
            "sku": self.sku,
            "name": self.name,
            "quantity": self.quantity,
            "unit_price": self.unit_price,
            "carbon_footprint_kg": str(self.carbon_footprint_kg),
            "discount": self.discount,
            "weight_grams": self.weight_grams,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> OrderLine:
        """Also reads the class-version-1 line dict (no discount, no weight)."""
        return cls(
            sku=data["sku"],
            name=data["name"],
            quantity=int(data["quantity"]),
            unit_price=data["unit_price"],
            carbon_footprint_kg=Decimal(str(data["carbon_footprint_kg"])),
            discount=data.get("discount") or Money.zero(),
            weight_grams=int(data.get("weight_grams", DEFAULT_WEIGHT_GRAMS)),
        )


@dataclass(frozen=True)
class PaymentMethod:
    """How the customer pays. Only what a gateway handed back is held (for a card: its
    token, brand and last four digits), never a card number."""

    method: str = "card"
    token: str = ""
    brand: str = ""
    last4: str = ""
    installments: int = 1

    def to_dict(self) -> dict[str, Any]:
        return {
            "method": self.method,
            "token": self.token,
            "brand": self.brand,
            "last4": self.last4,
            "installments": self.installments,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> PaymentMethod:
        """Also reads the class-version-1 dict (token, brand, last4 of a card)."""
        return cls(
            method=data.get("method", "card"),
            token=data.get("token", ""),
            brand=data.get("brand", ""),
            last4=data.get("last4", ""),
            installments=int(data.get("installments", 1)),
        )


@dataclass(frozen=True)
class Totals:
    subtotal: Money
    discount: Money
    shipping: Money
    total: Money


def price_order(lines: list[OrderLine], shipping: Money | None = None) -> Totals:
    """Subtotal of the lines, less the discount they carry, plus shipping (by default free
    from FREE_SHIPPING_FROM, else a flat fee)."""
    subtotal = sum((ln.gross for ln in lines), Money.zero())
    discount = sum((ln.discount for ln in lines), Money.zero())
    if shipping is None:
        shipping = Money.zero() if subtotal >= FREE_SHIPPING_FROM else SHIPPING_FEE
    return Totals(subtotal, discount, shipping, subtotal - discount + shipping)


def refund_share(left_to_refund: Money, units_left: int, quantity: int) -> Money:
    """What `quantity` of the `units_left` units still out of a line give back of the
    `left_to_refund`: its centavos shared over the units by largest remainder (every unit
    gets the same whole centavos, the first `remainder` units one more), so the returns of
    a line, in any sizes and order, add up exactly to its net and none is below zero. A
    line over-refunded by the rounding of older versions gives back nothing more."""
    centavos = int(left_to_refund.amount / CENTS)
    if centavos <= 0 or units_left <= 0:
        return Money.zero()
    each, remainder = divmod(centavos, units_left)
    return Money(Decimal(each * quantity + min(quantity, remainder)) * CENTS)


def order_id_for_cart(cart_id: UUID) -> UUID:
    """A cart checks out exactly once, so its order id is derived from the cart id."""
    return uuid5(ORDER_NAMESPACE, str(cart_id))


class Order(EcoAggregate):
    class Placed(EcoAggregate.Created):
        class_version = 2

        customer_id: str
        cart_id: UUID
        lines: list[OrderLine]
        subtotal: Money
        discount: Money
        shipping: Money
        total: Money
        carbon_footprint_kg: Decimal
        shipping_address: PersonalData
        payment_method: PaymentMethod
        coupon: str | None
        shipping_method: str
        # Who pays a boleto (the CPF), encrypted with the customer's key; None otherwise.
        payer: PersonalData | None = field(default=None, kw_only=True)

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            """v1 held lines and the payment method as dicts, and had no coupon nor
            shipping method (shipping was the flat fee: `standard`)."""
            state["lines"] = [OrderLine.from_dict(line) for line in state["lines"]]
            state["payment_method"] = PaymentMethod.from_dict(state["payment_method"])
            state["coupon"] = None
            state["shipping_method"] = "standard"

    class StockReserved(EcoAggregate.Event):
        pass

    class Confirmed(EcoAggregate.Event):
        payment_id: UUID

    class AwaitingPayment(EcoAggregate.Event):
        """A Pix or boleto was issued: the order waits for the customer to pay it."""

        payment_id: UUID

    class AwaitingAuthentication(EcoAggregate.Event):
        payment_id: UUID

    class PaymentFailed(EcoAggregate.Event):
        """The attempt `payment_id` was declined, failed or expired: the order waits for
        another try (its stock held) until `retry_until`, then is cancelled for `reason`."""

        payment_id: UUID
        attempt: int
        reason: str  # payment_declined | payment_failed | payment_expired
        retry_until: datetime

    class PaymentRetried(EcoAggregate.Event):
        """The shopper tries again, with `payment_method` (a boleto's payer encrypted)."""

        attempt: int
        payment_id: UUID
        payment_method: PaymentMethod
        payer: PersonalData | None

    class Shipped(EcoAggregate.Event):
        class_version = 2

        carrier: str
        tracking_code: str
        shipped_at: datetime  # the return window (7 days) counts from here

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            state["shipped_at"] = state["timestamp"]

    class TrackingUpdated(EcoAggregate.Event):
        """The carrier reported a step of the parcel (in transit, out for delivery,
        delivered, delivery failed, returned to sender) at `at`."""

        step: str  # a DeliveryStep
        at: datetime

    class LabelRequested(EcoAggregate.Event):
        """A carrier's label is to be bought for the parcel: recorded before the carrier is
        called, so a purchase cut short resumes instead of starting again."""

        service: str  # the carrier's id of the service asked for

    class LabelOpened(EcoAggregate.Event):
        """The label is in the carrier's cart, not paid yet: its id there."""

        label_id: str
        carrier: str
        service: str

    class LabelAbandoned(EcoAggregate.Event):
        """The carrier refused the label asked for before any was in its cart (an unknown
        service, a route it does not serve): another may be asked for."""

        reason: str

    class LabelBought(EcoAggregate.Event):
        """A carrier's label for the parcel: its id at the carrier, the service, the link."""

        label_id: str  # its link (a PDF with the recipient's address) is asked for by id
        service: str

    class ReturnOpened(EcoAggregate.Event):
        class_version = 2

        return_id: UUID
        lines: list[ReturnLine]
        shipping_refund: Money  # the original shipping, refunded with a whole withdrawal

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            state["shipping_refund"] = Money.zero()

    class ReturnClosed(EcoAggregate.Event):
        return_id: UUID  # rejected: its units may be asked for again

    class ItemsReturned(EcoAggregate.Event):
        return_id: UUID
        refund: Money
        status: str  # partially_returned, or returned once every unit is back

    class Cancelled(EcoAggregate.Event):
        class_version = 2

        reason: str  # a CancellationReason
        # The customer's or admin's own words, if any, encrypted with the customer's key
        # (v2); None when there are none, or when the customer's data was erased already.
        detail: PersonalData | None

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            """v1 stored the words in plaintext (review F8); they read as they were written,
            and, being in the stored bytes, cannot be shredded."""
            state["detail"] = free_text(UNKNOWN_SUBJECT, state["detail"])

    @staticmethod
    def create_id(cart_id: UUID) -> UUID:
        return order_id_for_cart(cart_id)

    @classmethod
    def place(
        cls,
        *,
        customer_id: str,
        cart_id: UUID,
        lines: list[OrderLine],
        shipping_address: PersonalData,
        payment_method: PaymentMethod,
        coupon: str | None = None,
        shipping_method: str = "standard",
        shipping: Money | None = None,
        shipping_footprint_kg: Decimal = Decimal("0"),
        payer: PersonalData | None = None,
    ) -> Order:
        """`lines` carry their discount share; `shipping` is the price of `shipping_method`
        (None: the flat default) and its CO2 adds to the order's footprint."""
        totals = price_order(lines, shipping)
        footprint = sum((ln.footprint_kg for ln in lines), shipping_footprint_kg)
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
            coupon=coupon,
            shipping_method=shipping_method,
            payer=payer,
        )

    @event(Placed)
    def __init__(
        self,
        *,
        customer_id: str,
        cart_id: UUID,
        lines: list[OrderLine],
        subtotal: Money,
        discount: Money,
        shipping: Money,
        total: Money,
        carbon_footprint_kg: Decimal,
        shipping_address: PersonalData,
        payment_method: PaymentMethod,
        coupon: str | None,
        shipping_method: str,
        payer: PersonalData | None = None,
    ) -> None:
        self.customer_id = customer_id
        self.payer = payer
        self.cart_id = cart_id
        self.lines = lines
        self.totals = Totals(subtotal, discount, shipping, total)
        self.carbon_footprint_kg = carbon_footprint_kg
        self.shipping_address = shipping_address
        self.payment_method = payment_method
        self.coupon = coupon
        self.shipping_method = shipping_method
        self.status = OrderStatus.PENDING
        self.stock_reserved = False
        self.payment_id: UUID | None = None
        self.payment_attempt = 1
        self.payment_failure: CancellationReason | None = None  # the current attempt failed
        self.retry_until: datetime | None = None  # the deadline of the first failure
        self.cancellation_reason: CancellationReason | None = None
        self.cancellation_detail: PersonalData | None = None
        self.carrier: str | None = None
        self.tracking_code: str | None = None
        self.shipped_at: datetime | None = None
        self.delivered_at: datetime | None = None
        self.label_id: str | None = None
        self.label_service: str | None = None  # asked for (LabelRequested), bought or not
        self.label_carrier = ""  # as the carrier named it when the label was opened
        self.label_service_name = ""  # likewise (e.g. "SEDEX")
        self.tracking: list[tuple[str, datetime]] = []  # (step, at) as the carrier said
        self.shipping_refund_held = Money.zero()  # in an open or received withdrawal
        self.open_shipping_refunds: dict[str, Money] = {}
        self.open_returns: dict[str, list[ReturnLine]] = {}
        self.returned: dict[str, int] = {}  # sku -> units received back
        self.refund_held: dict[str, Money] = {}  # sku -> refunds of open and received returns
        self.refunded_total = Money.zero()
        self.return_ids: list[UUID] = []

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

    def check_no_payment_under_way(self) -> None:
        if self.status != OrderStatus.AWAITING_PAYMENT or self.payment_failure is None:
            under_way = (
                "a payment is under way" if self.status in (PENDING, *WAITING) else self.status
            )
            raise PaymentAttemptPendingError(
                f"order {self.id} takes no other payment now: {under_way}"
            )

    def check_retry_open(self, at: datetime) -> None:
        assert self.retry_until is not None
        if at >= self.retry_until:
            raise PaymentWindowClosedError(
                f"order {self.id} waited for another payment until "
                f"{self.retry_until:%Y-%m-%d %H:%M} UTC; it is being cancelled"
            )

    # Payment attempts --------------------------------------------------------------------
    @property
    def current_payment_id(self) -> UUID:
        """The payment of the current attempt (the only one that may hold the order's money)."""
        return payment_id_for_order(self.id, self.payment_attempt)

    def waits_for(self, payment_id: UUID) -> bool:
        """Whether `payment_id` may still decide this order: it is the current attempt, not
        failed already, and the order is waiting for its payment."""
        return (
            payment_id == self.current_payment_id
            and self.payment_failure is None
            and self.status in (PENDING, *WAITING)
        )

    def hold_for_retry(
        self, payment_id: UUID, reason: str, window: timedelta, at: datetime
    ) -> bool:
        """The current attempt failed: the order waits for another try, its stock held, until
        `window` after the first failure. False when no retry is possible (no window, or
        past it): the caller cancels the order."""
        self.check_status(PENDING, *WAITING, action="wait for another payment of")
        failure = CancellationReason(reason)
        if failure not in PAYMENT_FAILURES or payment_id != self.current_payment_id:
            raise IllegalOrderTransitionError(f"{reason} of {payment_id} is not {self.id}'s")
        until = self.retry_until or at + window
        if window <= timedelta(0) or at >= until:
            return False
        self._payment_failed(
            payment_id=payment_id,
            attempt=self.payment_attempt,
            reason=failure.value,
            retry_until=until,
        )
        return True

    def retry_payment(
        self, payment_method: PaymentMethod, payer: PersonalData | None, at: datetime
    ) -> UUID:
        """Another try at paying, after a failed one and before the deadline; returns the
        new attempt's payment id."""
        self.check_no_payment_under_way()
        self.check_retry_open(at)
        attempt = self.payment_attempt + 1
        payment_id = payment_id_for_order(self.id, attempt)
        self._payment_retried(
            attempt=attempt, payment_id=payment_id, payment_method=payment_method, payer=payer
        )
        return payment_id

    def retry_lapsed(self, at: datetime) -> bool:
        """The deadline passed with no other try under way: the order is to be cancelled."""
        return (
            self.status == OrderStatus.AWAITING_PAYMENT
            and self.payment_failure is not None
            and self.retry_until is not None
            and at >= self.retry_until
        )

    # Commands ----------------------------------------------------------------------------
    def mark_stock_reserved(self) -> None:
        self.check_status(PENDING, action="reserve stock for")
        if not self.stock_reserved:
            self._stock_reserved()

    def await_payment(self, payment_id: UUID) -> None:
        self.check_status(PENDING, action="wait for the payment of")
        if not self.stock_reserved:
            raise IllegalOrderTransitionError(f"order {self.id} has no stock reserved")
        self._awaiting_payment(payment_id=payment_id)

    def await_authentication(self, payment_id: UUID) -> None:
        """The card needs the shopper (3-D Secure): the order waits, its stock held, until
        the authentication ends or expires."""
        self.check_status(PENDING, action="wait for the card authentication of")
        if not self.stock_reserved:
            raise IllegalOrderTransitionError(f"order {self.id} has no stock reserved")
        self._awaiting_authentication(payment_id=payment_id)

    def confirm(self, payment_id: UUID) -> None:
        self.check_status(PENDING, *WAITING, action="confirm")
        if self.payment_failure is not None:  # a failed attempt confirms nothing
            raise IllegalOrderTransitionError(f"order {self.id} waits for another payment")
        if not self.stock_reserved:
            raise IllegalOrderTransitionError(f"order {self.id} has no stock reserved")
        self._confirmed(payment_id=payment_id)

    def ship(self, carrier: str, tracking_code: str) -> None:
        self.check_status(OrderStatus.CONFIRMED, action="ship")
        self._shipped(carrier=carrier, tracking_code=tracking_code, shipped_at=now())

    def line(self, sku: str) -> OrderLine:
        for line in self.lines:
            if line.sku == sku:
                return line
        raise NotInOrderError(f"{sku} is not in order {self.id}")

    def units_out(self, sku: str) -> int:
        """Units of `sku` being returned or returned already."""
        opened = sum(
            ln.quantity for lines in self.open_returns.values() for ln in lines if ln.sku == sku
        )
        return opened + self.returned.get(sku, 0)

    def check_return_window(
        self,
        kind: ReturnKind,
        at: datetime,
        windows: ReturnWindows = DEFAULT_WINDOWS,
        non_durable: Collection[str] = (),
    ) -> None:
        """Withdrawal: 7 days from delivery (from shipment while no delivery is recorded);
        defect: only after delivery, within the window of each product (`non_durable`: the
        SKUs of non-durable goods, 30 days; the others 90). The refusal says which and why."""
        self.check_status(
            OrderStatus.SHIPPED,
            OrderStatus.DELIVERED,
            OrderStatus.PARTIALLY_RETURNED,
            action="return",
        )
        assert self.shipped_at is not None
        start = self.delivered_at or self.shipped_at
        if kind is ReturnKind.DEFECT and self.delivered_at is None:
            raise ReturnWindowClosedError(
                f"order {self.id} is not delivered yet: a defect return opens on delivery"
            )
        since = "delivered" if self.delivered_at else "shipped"
        if kind is ReturnKind.DEFECT and non_durable:
            closes = windows.closes(kind, start, durable=False)
            if at > closes:
                raise ReturnWindowClosedError(
                    f"order {self.id} was {since} on {start:%Y-%m-%d}: {', '.join(non_durable)} "
                    f"{'is' if len(non_durable) == 1 else 'are'} not durable goods, whose "
                    f"defect returns closed on {closes:%Y-%m-%d} "
                    f"({(closes - start).days} days; durable goods have "
                    f"{windows.defect.days})"
                )
        closes = windows.closes(kind, start)
        if at > closes:
            raise ReturnWindowClosedError(
                f"order {self.id} was {since} on {start:%Y-%m-%d}: {kind.value} returns "
                f"closed on {closes:%Y-%m-%d} ({(closes - start).days} days)"
                + (
                    "; a defect return may still be open"
                    if kind is ReturnKind.WITHDRAWAL and self.delivered_at
                    else ""
                )
            )

    def shipping_refund_for(self, kind: ReturnKind, lines: list[ReturnLine]) -> Money:
        """A withdrawal that sends back every unit still with the shopper refunds the
        original shipping too (CDC art. 49: everything paid)."""
        if kind is not ReturnKind.WITHDRAWAL or self.shipping_refund_held.is_positive:
            return Money.zero()
        asked = {ln.sku: ln.quantity for ln in lines}
        everything = all(
            self.units_out(ln.sku) + asked.get(ln.sku, 0) >= ln.quantity for ln in self.lines
        )
        return self.totals.shipping if everything else Money.zero()

    def quote_return(
        self,
        wanted: list[tuple[str, int]],
        at: datetime,
        kind: ReturnKind = ReturnKind.WITHDRAWAL,
        windows: ReturnWindows = DEFAULT_WINDOWS,
        non_durable: Collection[str] = (),
    ) -> list[ReturnLine]:
        """The lines of a return of `wanted` (sku, quantity) and the refund each is worth:
        its share of what is left of the line's net (what was paid for it, after discount,
        less the refunds of its units already out), by largest remainder (`refund_share`):
        whatever the order units come back in, the line's refunds add up to its net to the
        centavo and none is negative."""
        asked = {sku for sku, _ in wanted}
        self.check_return_window(kind, at, windows, [sku for sku in non_durable if sku in asked])
        lines = []
        for sku, quantity in wanted:
            line = self.line(sku)
            left = line.quantity - self.units_out(sku)
            if quantity > left:
                raise ReturnExceedsPurchaseError(f"{sku}: {quantity} to return, {left} returnable")
            still_held = line.net - self.refund_held.get(sku, Money.zero())
            lines.append(ReturnLine(sku, quantity, refund_share(still_held, left, quantity)))
        return lines

    def open_return(
        self, return_id: UUID, lines: list[ReturnLine], shipping_refund: Money | None = None
    ) -> None:
        self.check_status(
            OrderStatus.SHIPPED,
            OrderStatus.DELIVERED,
            OrderStatus.PARTIALLY_RETURNED,
            action="return",
        )
        self._return_opened(
            return_id=return_id, lines=lines, shipping_refund=shipping_refund or Money.zero()
        )

    def request_label(self, service: str) -> bool:
        """Record that a label of `service` is to be bought; False when it was recorded
        already (a purchase to resume). Another service while one is under way: refused."""
        self.check_status(CONFIRMED, action="buy a label for")
        if self.label_service == service:
            return False
        if self.label_service is not None:
            raise LabelUnderWayError(
                f"a label of service {self.label_service} is being bought for order {self.id}"
            )
        self._label_requested(service=service)
        return True

    def abandon_label(self, reason: str) -> None:
        if self.label_service is not None and self.label_id is None:
            self._label_abandoned(reason=outside_text(reason))

    def open_label(self, label_id: str, carrier: str, service: str) -> None:
        self.check_status(CONFIRMED, action="buy a label for")
        if self.label_service is None or self.label_id is not None:
            raise IllegalOrderTransitionError(f"order {self.id} has no label to open")
        self._label_opened(label_id=label_id, carrier=carrier, service=service)

    def record_label(self, label_id: str, service: str) -> None:
        self.check_status(CONFIRMED, action="buy a label for")
        self._label_bought(label_id=label_id, service=service)

    def track(self, step: str, at: datetime) -> bool:
        """A carrier's report: recorded when it moves the parcel on, else ignored (a
        report older than the newest, a repeat, anything after a final step)."""
        self.check_status(
            OrderStatus.SHIPPED,
            OrderStatus.DELIVERED,
            OrderStatus.PARTIALLY_RETURNED,
            OrderStatus.RETURNED,
            action="track",
        )
        known = DeliveryStep(step)
        assert self.shipped_at is not None
        if at < self.shipped_at - CLOCK_SKEW or not step_applies(self.tracking, known, at):
            return False
        self._tracking_updated(step=known.value, at=at.astimezone(UTC))
        return True

    def close_return(self, return_id: UUID) -> None:
        if str(return_id) in self.open_returns:
            self._return_closed(return_id=return_id)

    def complete_return(self, return_id: UUID) -> None:
        lines = self.open_returns.get(str(return_id))
        if lines is None:
            raise IllegalOrderTransitionError(f"return {return_id} is not open on {self.id}")
        refund = sum(
            (ln.refund for ln in lines),
            self.open_shipping_refunds.get(str(return_id), Money.zero()),
        )
        back = dict(self.returned)
        for ln in lines:
            back[ln.sku] = back.get(ln.sku, 0) + ln.quantity
        everything = all(back.get(ln.sku, 0) >= ln.quantity for ln in self.lines)
        status = OrderStatus.RETURNED if everything else OrderStatus.PARTIALLY_RETURNED
        self._items_returned(return_id=return_id, refund=refund, status=status.value)

    def cancel(self, reason: str, detail: str = "") -> None:
        self.check_reason(reason)
        self.check_status(PENDING, *WAITING, CONFIRMED, action="cancel")
        # Nothing new is encrypted for a customer whose data was erased (that would make
        # their key again): the words are not kept.
        words = None if self.shipping_address.erased else free_text(self.customer_id, detail)
        self._cancelled(reason=CancellationReason(reason).value, detail=words)

    # Mutators ----------------------------------------------------------------------------
    @event(StockReserved)
    def _stock_reserved(self) -> None:
        self.stock_reserved = True

    @event(AwaitingPayment)
    def _awaiting_payment(self, payment_id: UUID) -> None:
        self.status = OrderStatus.AWAITING_PAYMENT
        self.payment_id = payment_id

    @event(AwaitingAuthentication)
    def _awaiting_authentication(self, payment_id: UUID) -> None:
        self.status = OrderStatus.AWAITING_AUTHENTICATION
        self.payment_id = payment_id

    @event(PaymentFailed)
    def _payment_failed(
        self, payment_id: UUID, attempt: int, reason: str, retry_until: datetime
    ) -> None:
        self.status = OrderStatus.AWAITING_PAYMENT
        self.payment_failure = CancellationReason(reason)
        self.retry_until = retry_until

    @event(PaymentRetried)
    def _payment_retried(
        self,
        attempt: int,
        payment_id: UUID,
        payment_method: PaymentMethod,
        payer: PersonalData | None,
    ) -> None:
        # Pending again: the saga's steps for a new payment apply as on the first one.
        self.status = OrderStatus.PENDING
        self.payment_attempt, self.payment_id = attempt, payment_id
        self.payment_method, self.payer = payment_method, payer
        self.payment_failure = None

    @event(Confirmed)
    def _confirmed(self, payment_id: UUID) -> None:
        self.status = OrderStatus.CONFIRMED
        self.payment_id = payment_id

    @event(Shipped)
    def _shipped(self, carrier: str, tracking_code: str, shipped_at: datetime) -> None:
        self.status = OrderStatus.SHIPPED
        self.carrier, self.tracking_code = carrier, tracking_code
        self.shipped_at = shipped_at

    @event(Cancelled)
    def _cancelled(self, reason: str, detail: PersonalData | None) -> None:
        self.status = OrderStatus.CANCELLED
        self.cancellation_reason = CancellationReason(reason)
        self.cancellation_detail = detail

    @event(LabelRequested)
    def _label_requested(self, service: str) -> None:
        self.label_service = service

    @event(LabelAbandoned)
    def _label_abandoned(self, reason: str) -> None:
        self.label_service = None

    @event(LabelOpened)
    def _label_opened(self, label_id: str, carrier: str, service: str) -> None:
        self.label_id, self.label_carrier = label_id, carrier
        self.label_service_name = service

    @event(LabelBought)
    def _label_bought(self, label_id: str, service: str) -> None:
        self.label_id = label_id

    @event(TrackingUpdated)
    def _tracking_updated(self, step: str, at: datetime) -> None:
        self.tracking.append((step, at))
        if step == DeliveryStep.DELIVERED and self.status == OrderStatus.SHIPPED:
            self.status = OrderStatus.DELIVERED
        if step == DeliveryStep.DELIVERED:
            self.delivered_at = at

    @event(ReturnOpened)
    def _return_opened(
        self, return_id: UUID, lines: list[ReturnLine], shipping_refund: Money
    ) -> None:
        self.open_returns[str(return_id)] = lines
        if shipping_refund.is_positive:
            self.open_shipping_refunds[str(return_id)] = shipping_refund
            self.shipping_refund_held = shipping_refund
        self.return_ids.append(return_id)
        for ln in lines:
            self.refund_held[ln.sku] = self.refund_held.get(ln.sku, Money.zero()) + ln.refund

    @event(ReturnClosed)
    def _return_closed(self, return_id: UUID) -> None:
        if self.open_shipping_refunds.pop(str(return_id), None) is not None:
            self.shipping_refund_held = Money.zero()
        for ln in self.open_returns.pop(str(return_id)):
            self.refund_held[ln.sku] = self.refund_held[ln.sku] - ln.refund

    @event(ItemsReturned)
    def _items_returned(self, return_id: UUID, refund: Money, status: str) -> None:
        self.open_shipping_refunds.pop(str(return_id), None)
        for ln in self.open_returns.pop(str(return_id)):
            self.returned[ln.sku] = self.returned.get(ln.sku, 0) + ln.quantity
        self.refunded_total = self.refunded_total + refund
        self.status = OrderStatus(status)
