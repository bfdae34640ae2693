"""The storefront's basket: what a shopper picked before (or without) signing in, priced as
checkout prices it, and turned into a cart and an order when they pay.

A shopper browses and fills a basket anonymously (carts belong to customers, and a new
shopper registers only at checkout), so the basket lives in the browser (a cookie of SKUs
and quantities, `api/storefront/basket.py`) and is priced here on every view from today's
catalog: an in-memory `Cart` that is never saved takes the same guards, coupon rules and
shipping table as a real one. At checkout the basket becomes a real cart (created, filled,
coupon applied) whose version the review page shows; paying checks that cart out once."""

from __future__ import annotations

from dataclasses import dataclass, field
from uuid import UUID

from application.errors import StockItemNotFoundError, UnknownCouponError
from application.event_store import CommandResult
from application.services import Services
from domain.base import DomainError, InvalidInputError
from domain.cart import Cart
from domain.money import Money
from domain.payment_choice import PaymentChoice
from domain.shipping import ShippingOption

GUEST = "storefront-guest"  # the owner of an in-memory cart that is never saved


class PriceChangedError(InvalidInputError):
    """The total to pay is no longer the one the shopper was shown."""


@dataclass(frozen=True)
class BasketLine:
    sku: str
    name: str
    quantity: int
    unit_price: Money | None
    line_total: Money | None
    available: int
    problem: str | None = None  # "archived", "unknown", "short" (fewer available)


@dataclass(frozen=True)
class PricedBasket:
    lines: list[BasketLine]
    subtotal: Money
    coupon: str | None
    discount: Money
    coupon_problem: DomainError | None
    shipping: list[ShippingOption] = field(default_factory=list)
    shipping_problem: DomainError | None = None
    grams: int = 0

    @property
    def total(self) -> Money:
        return self.subtotal - self.discount

    @property
    def sellable(self) -> bool:
        return bool(self.lines) and all(line.problem is None for line in self.lines)


class Storefront:
    """Basket pricing and checkout for the storefront, over the shop's own commands."""

    def __init__(self, services: Services):
        self.services = services

    def _line(self, cart: Cart, sku: str, quantity: int) -> BasketLine:
        try:
            item = self.services.catalog.stock_item(sku)
        except StockItemNotFoundError:
            return BasketLine(sku, sku, quantity, None, None, 0, "unknown")
        if item.archived:
            return BasketLine(sku, item.name, quantity, item.price, None, 0, "archived")
        if quantity > item.available:
            return BasketLine(sku, item.name, quantity, item.price, None, item.available, "short")
        cart.add_item(sku, item.name, quantity, item.price)
        total = item.price.times(quantity)
        return BasketLine(sku, item.name, quantity, item.price, total, item.available)

    def price(
        self,
        lines: list[tuple[str, int]],
        coupon: str | None = None,
        postal_code: str | None = None,
        customer_id: str = GUEST,
    ) -> PricedBasket:
        """Today's prices of the basket's lines, the coupon's discount (or why not) and, for
        a CEP, the shipping options (or why not): nothing is saved."""
        cart = Cart(customer_id=customer_id)
        priced = [self._line(cart, sku, quantity) for sku, quantity in lines]
        subtotal = sum((line.line_total for line in priced if line.line_total), Money.zero())
        discount, coupon_problem = Money.zero(), None
        if coupon and cart.lines:
            try:
                promotion = self.services.promotions.coupon(coupon)
                discount = sum(
                    self.services.promotions.coupon_discounts(cart, promotion), Money.zero()
                )
            except (DomainError, UnknownCouponError) as error:
                coupon_problem = error
        options: list[ShippingOption] = []
        shipping_problem = None
        grams = self.services.shipping.parcel_grams(cart) if cart.lines else 0
        if postal_code and cart.lines:
            net = subtotal - discount
            try:
                options = self.services.shipping.rates_table().quote(postal_code, grams, net)
            except DomainError as error:
                shipping_problem = error
        return PricedBasket(
            priced, subtotal, coupon, discount, coupon_problem, options, shipping_problem, grams
        )

    def open_cart(
        self, customer_id: str, lines: list[tuple[str, int]], coupon: str | None
    ) -> CommandResult:
        """A new cart of the customer's holding the basket (and its coupon, when it
        applies); refused as a whole by the first line that cannot be sold."""
        result = self.services.checkout.create_cart(customer_id)
        for sku, quantity in lines:
            result = self.services.checkout.add_cart_item(
                result.aggregate_id, customer_id, sku, quantity
            )
        if coupon:
            result = self.services.checkout.apply_coupon(result.aggregate_id, customer_id, coupon)
        return result

    def cart_total(
        self, cart_id: UUID, customer_id: str, postal_code: str, shipping_method: str
    ) -> Money:
        """What checking the cart out would charge now (lines at today's prices, the
        coupon, shipping): compared with what the review page showed before paying."""
        checkout = self.services.checkout
        cart = checkout.cart_of(cart_id, customer_id)
        net = checkout.cart_net(cart_id, customer_id)  # today's prices, less the coupon
        option = self.services.shipping.rates_table().option(
            shipping_method, postal_code, self.services.shipping.parcel_grams(cart), net
        )
        return net + option.price  # as `price_order`: subtotal - discount + shipping

    def pay(
        self,
        cart_id: UUID,
        customer_id: str,
        address_id: str,
        payment: PaymentChoice,
        shipping_method: str,
        shown_total: str,
        version: int,
    ) -> CommandResult:
        """Check the cart out to the saved address `address_id` if the total is still the
        one shown; a second submit of the same page finds the cart checked out
        (`CartAlreadyCheckedOutError`)."""
        address = self.services.customers.saved_address(customer_id, address_id)
        cart = self.services.checkout.cart_of(cart_id, customer_id)
        cart.check_open()
        total = self.cart_total(cart_id, customer_id, address.postal_code, shipping_method)
        if str(total.amount) != shown_total:
            raise PriceChangedError(f"the total is now {total.amount} BRL, not {shown_total}")
        return self.services.checkout.checkout(
            cart_id, customer_id, address, payment, version, shipping_method=shipping_method
        )

    def order_of_cart(self, cart_id: UUID, customer_id: str) -> UUID | None:
        return self.services.checkout.cart_of(cart_id, customer_id).order_id
