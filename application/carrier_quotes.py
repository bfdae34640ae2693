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
from decimal import Decimal

from application.carriers import Carrier, CarrierError, CarrierQuote, Parcel
from domain.money import Money
from domain.shipping import (
    RatesTable,
    ShippingError,
    ShippingMethod,
    ShippingOption,
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


def quote_from(carrier: Carrier, parcel: Parcel, table: RatesTable) -> list[ShippingOption]:
    """The carrier's options for the parcel; none when it does not answer or serves none
    of its services there (the rates table answers then)."""
    try:
        quotes = carrier.quote(parcel)
    except CarrierError as error:
        log.warning("carrier quote failed, the rates table answers: %s", error)
        return []
    return carrier_options(
        quotes, parcel.declared_value, table, parcel.to_postal_code, parcel.weight_grams
    )
