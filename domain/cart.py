"""Cart: a customer's basket. Lines keep the unit price at the time the item was added.

A cart is checked out exactly once; after that it refuses every change.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from uuid import UUID

from eventsourcing.domain import event

from domain.base import DomainError, EcoAggregate, InvalidInputError
from domain.money import MAX_AMOUNT, Money, check_sku
from domain.shipping import ShippingOption

MAX_LINE_QUANTITY = 999
MAX_LINES = 100


class CartError(DomainError):
    """Base of the errors a Cart raises."""


class InvalidCartQuantityError(CartError, InvalidInputError):
    """A line quantity outside 1..999."""


class CartAlreadyCheckedOutError(CartError):
    """The cart was checked out; it cannot change any more."""


class EmptyCartError(CartError, InvalidInputError):
    """A cart with no items cannot be checked out."""


class ItemNotInCartError(CartError):
    """The SKU is not a line of this cart."""


class TooManyLinesError(CartError, InvalidInputError):
    """A cart holds at most MAX_LINES distinct SKUs."""


class ShippingQuoteExpiredError(CartError):
    """The carrier's quote shown for the cart is too old to be charged: quote again."""


class ShippingNotQuotedError(CartError, InvalidInputError):
    """A shipping method the carrier's quote for the cart did not offer."""


class CartAboveMoneyLimitError(CartError, InvalidInputError):
    """A line, or the cart, would cost more than the money limit (MAX_AMOUNT): refused at
    once, rather than accepted and then unreadable wherever its total is computed."""


@dataclass(frozen=True)
class CartLine:
    sku: str
    name: str
    quantity: int
    unit_price: Money

    @property
    def line_total(self) -> Money:
        return self.unit_price.times(self.quantity)


class Cart(EcoAggregate):
    class Created(EcoAggregate.Created):
        customer_id: str

    class ItemAdded(EcoAggregate.Event):
        sku: str
        name: str
        quantity: int
        unit_price: Money

    class ItemQuantityChanged(EcoAggregate.Event):
        sku: str
        quantity: int

    class ItemRemoved(EcoAggregate.Event):
        sku: str

    class CheckedOut(EcoAggregate.Event):
        order_id: UUID

    class CouponApplied(EcoAggregate.Event):
        code: str
        discount: Money  # what the coupon takes off the cart as it is now

    class DiscountChanged(EcoAggregate.Event):
        discount: Money  # the lines changed: what the coupon takes off now

    class CouponRemoved(EcoAggregate.Event):
        pass

    class ShippingQuoted(EcoAggregate.Event):
        """A carrier's quote shown to the shopper for the cart as it is (cleared by any
        change of its lines or coupon): what checkout charges for that CEP."""

        postal_code: str  # 8 digits
        options: list[ShippingOption]
        quoted_at: datetime

    @event(Created)
    def __init__(self, customer_id: str) -> None:
        self.customer_id = customer_id
        self.lines: dict[str, CartLine] = {}
        self.order_id: UUID | None = None
        self.coupon: str | None = None
        self.discount = Money.zero()
        self.shipping_quote: tuple[str, list[ShippingOption], datetime] | None = None

    @property
    def is_checked_out(self) -> bool:
        return self.order_id is not None

    @property
    def total(self) -> Money:
        return sum((line.line_total for line in self.lines.values()), Money.zero())

    # Guards -------------------------------------------------------------------------------
    def check_open(self) -> None:
        if self.is_checked_out:
            raise CartAlreadyCheckedOutError(f"cart {self.id} is already checked out")

    @staticmethod
    def check_quantity(quantity: int) -> None:
        if not isinstance(quantity, int) or isinstance(quantity, bool):
            raise InvalidCartQuantityError("quantity must be an integer")
        if not 1 <= quantity <= MAX_LINE_QUANTITY:
            raise InvalidCartQuantityError(f"quantity must be between 1 and {MAX_LINE_QUANTITY}")

    def check_has_line(self, sku: str) -> None:
        if sku not in self.lines:
            raise ItemNotInCartError(f"{sku} is not in cart {self.id}")

    def check_within_money_limit(self, sku: str, quantity: int, unit_price: Money) -> None:
        """`quantity` units of `sku` at `unit_price` (the line as it would be) keep the line
        and the whole cart within MAX_AMOUNT."""
        line = unit_price.amount * quantity
        others = sum(
            (ln.unit_price.amount * ln.quantity for s, ln in self.lines.items() if s != sku), line
        )
        if line > MAX_AMOUNT or others > MAX_AMOUNT:
            raise CartAboveMoneyLimitError(
                f"{quantity} x {sku} would take the cart above the limit of {MAX_AMOUNT} BRL"
            )

    def check_not_empty(self) -> None:
        if not self.lines:
            raise EmptyCartError(f"cart {self.id} is empty")

    # Commands ----------------------------------------------------------------------------
    def add_item(self, sku: str, name: str, quantity: int, unit_price: Money) -> None:
        """Add units of a product; adding a SKU already in the cart adds to its line."""
        self.check_open()
        check_sku(sku)
        self.check_quantity(quantity)
        existing = self.lines.get(sku)
        if existing is None and len(self.lines) >= MAX_LINES:
            raise TooManyLinesError(f"a cart holds at most {MAX_LINES} products")
        self.check_quantity(quantity + (existing.quantity if existing else 0))
        self.check_within_money_limit(
            sku, quantity + (existing.quantity if existing else 0), unit_price
        )
        self._item_added(sku=sku, name=name, quantity=quantity, unit_price=unit_price)

    def change_quantity(self, sku: str, quantity: int) -> None:
        self.check_open()
        self.check_has_line(sku)
        self.check_quantity(quantity)
        self.check_within_money_limit(sku, quantity, self.lines[sku].unit_price)
        if self.lines[sku].quantity != quantity:
            self._item_quantity_changed(sku=sku, quantity=quantity)

    def remove_item(self, sku: str) -> None:
        self.check_open()
        self.check_has_line(sku)
        self._item_removed(sku=sku)

    def apply_coupon(self, code: str, discount: Money) -> None:
        self.check_open()
        self._coupon_applied(code=code, discount=discount)

    def reprice_discount(self, discount: Money) -> None:
        """After the lines changed, the coupon's discount on the cart as it is now."""
        if self.coupon is not None and discount != self.discount:
            self._discount_changed(discount=discount)

    def remove_coupon(self) -> None:
        self.check_open()
        if self.coupon is not None:
            self._coupon_removed()

    def record_shipping_quote(
        self, postal_code: str, options: list[ShippingOption], at: datetime
    ) -> None:
        self.check_open()
        self._shipping_quoted(postal_code=postal_code, options=options, quoted_at=at)

    def quoted_shipping(
        self, postal_code: str, method: str, at: datetime, valid_for: timedelta
    ) -> ShippingOption | None:
        """The option shown for `postal_code` (8 digits) and `method`, if the cart was quoted
        for that CEP as it is; None if it was not (the rates table prices it). A quote too
        old, or without that method, is refused: the shopper quotes again."""
        if self.shipping_quote is None or self.shipping_quote[0] != postal_code:
            return None
        _, options, quoted_at = self.shipping_quote
        if at > quoted_at + valid_for:
            raise ShippingQuoteExpiredError(
                f"the shipping quote of {quoted_at:%H:%M} UTC has expired "
                f"({int(valid_for.total_seconds() // 60)} minutes): quote the shipping again"
            )
        chosen = next((o for o in options if o.method == method), None)
        if chosen is None:
            raise ShippingNotQuotedError(
                f"{method} was not offered for this cart to {postal_code}: choose one quoted"
            )
        return chosen

    def check_out(self, order_id: UUID) -> None:
        self.check_open()
        self.check_not_empty()
        self._checked_out(order_id=order_id)

    # Mutators ----------------------------------------------------------------------------
    @event(ItemAdded)
    def _item_added(self, sku: str, name: str, quantity: int, unit_price: Money) -> None:
        self.shipping_quote = None  # quoted for another parcel
        previous = self.lines.get(sku)
        total = quantity + (previous.quantity if previous else 0)
        self.lines[sku] = CartLine(sku, name, total, unit_price)

    @event(ItemQuantityChanged)
    def _item_quantity_changed(self, sku: str, quantity: int) -> None:
        self.shipping_quote = None
        line = self.lines[sku]
        self.lines[sku] = CartLine(line.sku, line.name, quantity, line.unit_price)

    @event(ItemRemoved)
    def _item_removed(self, sku: str) -> None:
        self.shipping_quote = None
        del self.lines[sku]

    @event(CheckedOut)
    def _checked_out(self, order_id: UUID) -> None:
        self.order_id = order_id

    @event(CouponApplied)
    def _coupon_applied(self, code: str, discount: Money) -> None:
        self.coupon, self.discount = code, discount
        self.shipping_quote = None  # free shipping depends on the net

    @event(DiscountChanged)
    def _discount_changed(self, discount: Money) -> None:
        self.discount = discount
        self.shipping_quote = None

    @event(CouponRemoved)
    def _coupon_removed(self) -> None:
        self.coupon, self.discount = None, Money.zero()
        self.shipping_quote = None

    @event(ShippingQuoted)
    def _shipping_quoted(
        self, postal_code: str, options: list[ShippingOption], quoted_at: datetime
    ) -> None:
        self.shipping_quote = (postal_code, options, quoted_at)
