"""Shipping priced by CEP: regions (CEP ranges), weight bands, a price, delivery days and
the CO2 of each method per region; free standard shipping from a subtotal.

`RatesTable` is a value (with a transcoding); `ShippingRates` is the one aggregate that
holds the table in force, so an admin's replacement is an event like any other.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import event

from domain.base import DomainError, EcoAggregate, InvalidInputError
from domain.money import Money

RATES_ID = uuid5(NAMESPACE_URL, "https://ecovarejo.com.br/shipping-rates")
_CEP = re.compile(r"^([0-9]{5})-?([0-9]{3})$")


class ShippingMethod(StrEnum):
    STANDARD = "standard"
    EXPRESS = "express"


class ShippingError(DomainError):
    """Base of the errors of shipping."""


class InvalidCepError(ShippingError, InvalidInputError):
    """A CEP is NNNNN-NNN or 8 digits."""


class CepNotServedError(ShippingError, InvalidInputError):
    """No region of the rates table covers this CEP."""


class ParcelTooHeavyError(ShippingError, InvalidInputError):
    """The parcel is heavier than the rates table's last weight band."""


class InvalidRatesTableError(ShippingError, InvalidInputError):
    """A rates table that cannot price every region, band and method."""


def parse_cep(text: str) -> str:
    """The CEP's 8 digits."""
    match = _CEP.match(text.strip()) if isinstance(text, str) else None
    if match is None:
        raise InvalidCepError(f"invalid CEP {text!r}: NNNNN-NNN or 8 digits")
    return match.group(1) + match.group(2)


@dataclass(frozen=True)
class Rate:
    prices: tuple[Money, ...]  # one per weight band
    days: int
    co2_kg_per_kg: Decimal  # CO2e per kilogram carried


@dataclass(frozen=True)
class ShippingOption:
    """A way to ship the cart, as shown to the shopper: from the rates table, or from a
    carrier's quote (`carrier`, its `service_id` and `service` name), which checkout then
    charges as shown (`Cart.ShippingQuoted`)."""

    method: ShippingMethod
    price: Money
    days: int
    carbon_footprint_kg: Decimal
    carrier: str = ""
    service_id: str = ""
    service: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "method": self.method.value,
            "price": self.price,
            "days": self.days,
            "carbon_footprint_kg": str(self.carbon_footprint_kg),
            "carrier": self.carrier,
            "service_id": self.service_id,
            "service": self.service,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ShippingOption:
        return cls(
            method=ShippingMethod(data["method"]),
            price=data["price"],
            days=int(data["days"]),
            carbon_footprint_kg=Decimal(str(data["carbon_footprint_kg"])),
            carrier=str(data.get("carrier", "")),
            service_id=str(data.get("service_id", "")),
            service=str(data.get("service", "")),
        )


@dataclass(frozen=True)
class RatesTable:
    regions: dict[str, tuple[tuple[str, str], ...]]  # region -> CEP ranges (8 digits)
    bands_grams: tuple[int, ...]  # upper bound of each band, increasing
    rates: dict[str, dict[str, Rate]]  # method -> region -> rate
    free_standard_from: Money

    def __post_init__(self) -> None:
        if not self.bands_grams or list(self.bands_grams) != sorted(set(self.bands_grams)):
            raise InvalidRatesTableError("bands_grams must be increasing and not empty")
        if self.bands_grams[0] <= 0:
            raise InvalidRatesTableError("bands_grams must be positive")
        for method in ShippingMethod:
            for region in self.regions:
                rate = self.rates.get(method, {}).get(region)
                if rate is None or len(rate.prices) != len(self.bands_grams):
                    raise InvalidRatesTableError(
                        f"{method} to {region}: one price per weight band is needed"
                    )
                if rate.days < 1 or any(p.amount < 0 for p in rate.prices):
                    raise InvalidRatesTableError(f"{method} to {region}: bad days or price")
                # A NaN, infinite or negative factor would be an immutable fact in every quote.
                if not rate.co2_kg_per_kg.is_finite() or rate.co2_kg_per_kg < 0:
                    raise InvalidRatesTableError(f"{method} to {region}: bad co2_kg_per_kg")
        for ranges in self.regions.values():
            for start, end in ranges:
                parse_cep(start), parse_cep(end)
                if start > end:
                    raise InvalidRatesTableError(f"CEP range {start}-{end} is reversed")

    def region_of(self, cep: str) -> str:
        digits = parse_cep(cep)
        for region, ranges in self.regions.items():
            if any(parse_cep(a) <= digits <= parse_cep(b) for a, b in ranges):
                return region
        raise CepNotServedError(f"no shipping to CEP {cep}: outside the rates table")

    def band_of(self, grams: int) -> int:
        for index, limit in enumerate(self.bands_grams):
            if grams <= limit:
                return index
        raise ParcelTooHeavyError(f"{grams} g is over the {self.bands_grams[-1]} g limit")

    def quote(self, cep: str, grams: int, subtotal: Money) -> list[ShippingOption]:
        region, band = self.region_of(cep), self.band_of(grams)
        options = []
        for method in ShippingMethod:
            rate = self.rates[method][region]
            price = rate.prices[band]
            if method == ShippingMethod.STANDARD and subtotal >= self.free_standard_from:
                price = Money.zero()
            co2 = (Decimal(grams) / 1000 * rate.co2_kg_per_kg).quantize(Decimal("0.001"))
            options.append(ShippingOption(method, price, rate.days, co2))
        return options

    def option(self, method: str, cep: str, grams: int, subtotal: Money) -> ShippingOption:
        chosen = ShippingMethod(method)
        return next(o for o in self.quote(cep, grams, subtotal) if o.method == chosen)

    # Transcoding -------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        return {
            "regions": {r: [list(x) for x in ranges] for r, ranges in self.regions.items()},
            "bands_grams": list(self.bands_grams),
            "rates": {
                method: {
                    region: {
                        "prices": [str(p.amount) for p in rate.prices],
                        "days": rate.days,
                        "co2_kg_per_kg": str(rate.co2_kg_per_kg),
                    }
                    for region, rate in by_region.items()
                }
                for method, by_region in self.rates.items()
            },
            "free_standard_from": str(self.free_standard_from.amount),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RatesTable:
        try:
            return cls(
                regions={
                    str(r): tuple((str(a), str(b)) for a, b in ranges)
                    for r, ranges in data["regions"].items()
                },
                bands_grams=tuple(int(b) for b in data["bands_grams"]),
                rates={
                    str(method): {
                        str(region): Rate(
                            tuple(Money.brl(str(p)) for p in rate["prices"]),
                            int(rate["days"]),
                            Decimal(str(rate["co2_kg_per_kg"])),
                        )
                        for region, rate in by_region.items()
                    }
                    for method, by_region in data["rates"].items()
                },
                free_standard_from=Money.brl(str(data["free_standard_from"])),
            )
        except (KeyError, TypeError, ValueError, AttributeError, ArithmeticError) as e:
            # ArithmeticError: decimal.InvalidOperation for a factor such as "abc".
            raise InvalidRatesTableError(f"malformed rates table: {e}") from None


def _rates(prices: list[str], days: int, co2: str) -> dict[str, Any]:
    return {"prices": prices, "days": days, "co2_kg_per_kg": co2}


# Regions by the CEP's first digits (Correios); road for standard, air for express.
DEFAULT_RATES = RatesTable.from_dict(
    {
        "regions": {
            "sudeste": [["01000000", "39999999"]],
            "nordeste": [["40000000", "65999999"]],
            "norte": [["66000000", "69999999"], ["76800000", "77999999"]],
            "centro_oeste": [["70000000", "76799999"], ["78000000", "79999999"]],
            "sul": [["80000000", "99999999"]],
        },
        "bands_grams": [1000, 5000, 10000, 30000],
        "rates": {
            "standard": {
                "sudeste": _rates(["19.90", "29.90", "44.90", "79.90"], 5, "0.120"),
                "sul": _rates(["24.90", "34.90", "52.90", "89.90"], 6, "0.150"),
                "centro_oeste": _rates(["27.90", "39.90", "59.90", "99.90"], 7, "0.180"),
                "nordeste": _rates(["29.90", "44.90", "64.90", "109.90"], 9, "0.220"),
                "norte": _rates(["34.90", "52.90", "74.90", "129.90"], 12, "0.280"),
            },
            "express": {
                "sudeste": _rates(["34.90", "49.90", "74.90", "129.90"], 2, "0.600"),
                "sul": _rates(["42.90", "59.90", "89.90", "149.90"], 2, "0.700"),
                "centro_oeste": _rates(["46.90", "64.90", "99.90", "169.90"], 3, "0.800"),
                "nordeste": _rates(["49.90", "69.90", "109.90", "189.90"], 3, "0.900"),
                "norte": _rates(["59.90", "84.90", "129.90", "219.90"], 4, "1.100"),
            },
        },
        "free_standard_from": "199.00",
    }
)


class ShippingRates(EcoAggregate):
    """The rates table in force. Until an admin replaces it, DEFAULT_RATES apply."""

    class Replaced(EcoAggregate.Created):
        table: RatesTable

    class Changed(EcoAggregate.Event):
        table: RatesTable

    @staticmethod
    def create_id() -> UUID:
        return RATES_ID

    @event(Replaced)
    def __init__(self, table: RatesTable) -> None:
        self.table = table

    def replace(self, table: RatesTable) -> None:
        if table != self.table:
            self._changed(table=table)

    @event(Changed)
    def _changed(self, table: RatesTable) -> None:
        self.table = table
