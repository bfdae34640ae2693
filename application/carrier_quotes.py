"""Checkout quotes from the carrier, when one is configured: the quote shown for a cart is
recorded on it (`Cart.ShippingQuoted`), and checkout charges exactly that price for that CEP
while the cart is unchanged and the quote fresh (else 409: quote again). The rates table
stays the embedded default, and the fallback when the carrier does not answer (then it
prices the checkout too, as without a carrier).

A carrier's services become the two methods the shop offers: `standard`, the cheapest (free
from the table's threshold, as with the table), and `express`, the fastest if it is faster.
The CO2 of each comes from the table's factor for the region (the carrier gives none)."""

from __future__ import annotations

import logging
from datetime import timedelta
from decimal import Decimal
from uuid import UUID

from application.carriers import Carrier, CarrierError, CarrierQuote, Parcel
from application.carts import CartCommands
from domain.base import now
from domain.cart import Cart
from domain.money import Money
from domain.shipping import (
    RatesTable,
    ShippingError,
    ShippingMethod,
    ShippingOption,
    parse_cep,
)

log = logging.getLogger(__name__)


def carrier_options(
    quotes: list[CarrierQuote], net: Money, table: RatesTable, cep: str, grams: int
) -> list[ShippingOption]:
    """Standard (the cheapest service) and express (the fastest, if faster)."""
    if not quotes:
        return []
    cheapest = min(quotes, key=lambda q: (q.price, q.days))
    fastest = min(quotes, key=lambda q: (q.days, q.price))
    chosen = [(ShippingMethod.STANDARD, cheapest)]
    if fastest.days < cheapest.days:
        chosen.append((ShippingMethod.EXPRESS, fastest))
    free = net >= table.free_standard_from
    return [
        ShippingOption(
            method=method,
            price=Money.zero() if method is ShippingMethod.STANDARD and free else quote.price,
            days=quote.days,
            carbon_footprint_kg=_footprint(table, method, cep, grams),
            carrier=quote.carrier,
            service_id=quote.service_id,
            service=quote.service,
        )
        for method, quote in chosen
    ]


def _footprint(table: RatesTable, method: ShippingMethod, cep: str, grams: int) -> Decimal:
    try:
        return table.option(method, cep, grams, Money.zero()).carbon_footprint_kg
    except ShippingError:  # a CEP or a weight the table does not cover: no factor known
        return Decimal("0")


class CarrierQuoteCommands(CartCommands):
    carrier: Carrier | None = None  # bootstrap sets it from settings
    ship_from_postal_code = "01310-100"
    quote_valid_for = timedelta(hours=1)  # ECOVAREJO_SHIPPING_QUOTE_VALID_S

    def shipping_quote(
        self, cart_id: UUID, customer_id: str, postal_code: str
    ) -> list[ShippingOption]:
        """The carrier's quote (recorded on the cart: checkout charges it), or the rates
        table's when no carrier is configured or it does not answer."""
        if self.carrier is None:
            return super().shipping_quote(cart_id, customer_id, postal_code)
        cart = self.cart_of(cart_id, customer_id)
        cart.check_not_empty()
        cart.check_open()
        cep = parse_cep(postal_code)
        net = self.cart_net(cart_id, customer_id)
        grams = self.parcel_grams(cart)
        parcel = Parcel(self.ship_from_postal_code, cep, grams, net)
        try:
            quotes = self.carrier.quote(parcel)
        except CarrierError as error:
            log.warning("carrier quote failed, the rates table answers: %s", error)
            return super().shipping_quote(cart_id, customer_id, postal_code)
        options = carrier_options(quotes, net, self.rates_table(), cep, grams)
        if not options:  # no service of the carrier goes there
            return super().shipping_quote(cart_id, customer_id, postal_code)
        cart.record_shipping_quote(cep, options, now())
        self._commit(cart)
        return options

    def _shipping_for(
        self, cart: Cart, method: str, postal_code: str, net: Money
    ) -> ShippingOption:
        """The carrier's quote shown for this cart and CEP, charged as shown; else the
        rates table."""
        quoted = cart.quoted_shipping(parse_cep(postal_code), method, now(), self.quote_valid_for)
        if quoted is not None:
            return quoted
        return super()._shipping_for(cart, method, postal_code, net)
