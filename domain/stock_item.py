"""StockItem: a catalog product and its inventory.

`on_hand` is what is physically in the warehouse; `reserved` is what orders hold and have
not shipped yet; `available = on_hand - reserved` is never negative. Reservations are keyed
by order id, so reserving or releasing the same reservation twice is a no-op: the saga can
repeat a step after a crash without doubling it.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import event

from domain.base import DomainError, EcoAggregate, InvalidInputError
from domain.gtin import check_gtin
from domain.money import Money, check_sku

SKU_NAMESPACE = uuid5(NAMESPACE_URL, "https://ecovarejo.com.br/sku")
MAX_QUANTITY = 1_000_000
DEFAULT_WEIGHT_GRAMS = 500
MAX_WEIGHT_GRAMS = 30_000


@dataclass(frozen=True)
class Sustainability:
    """A product's sustainability data: kilograms of CO2e per unit, certifications, and
    whether it is recyclable or biodegradable."""

    carbon_footprint_kg: Decimal = Decimal("0")
    certifications: tuple[str, ...] = ()
    recyclable: bool = False
    biodegradable: bool = False

    @classmethod
    def of(cls, value: Sustainability | Mapping[str, Any]) -> Sustainability:
        """The value itself, or one read from its dict form (as the API and v2 events have
        it); a footprint that is not a decimal is invalid input."""
        if isinstance(value, Sustainability):
            return value
        try:
            footprint = Decimal(str(value.get("carbon_footprint_kg", "0")))
        except InvalidOperation:
            raise InvalidInputError("carbon_footprint_kg must be a decimal") from None
        if not footprint.is_finite() or footprint < 0:
            raise InvalidInputError("carbon_footprint_kg must be a decimal >= 0")
        return cls(
            carbon_footprint_kg=footprint,
            certifications=tuple(str(c) for c in value.get("certifications", ())),
            recyclable=bool(value.get("recyclable", False)),
            biodegradable=bool(value.get("biodegradable", False)),
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "carbon_footprint_kg": str(self.carbon_footprint_kg),
            "certifications": list(self.certifications),
            "recyclable": self.recyclable,
            "biodegradable": self.biodegradable,
        }


def footprint_of(sustainability: Sustainability | Mapping[str, Any]) -> Decimal:
    """Kilograms of CO2e per unit, as registered."""
    return Sustainability.of(sustainability).carbon_footprint_kg


class StockItemError(DomainError):
    """Base of the errors a StockItem raises."""


class InvalidStockQuantityError(StockItemError, InvalidInputError):
    """A quantity that is not a positive integer within range."""


class InsufficientStockError(StockItemError):
    """Not enough available units for the reservation or adjustment."""


class ArchivedProductError(StockItemError):
    """The product was archived: still readable, no longer sold."""


class InvalidReferenceError(StockItemError, InvalidInputError):
    """A receipt's supplier reference that is too long or holds control characters."""


MAX_REFERENCE = 60


class ReservationNotFoundError(StockItemError):
    """No open reservation for that order."""


# Immutable values a stock item's copy can share with the original.
_SHARED = (str, int, bool, Decimal, UUID, datetime, Money, Sustainability, type(None))
_SHARED_TYPES = frozenset(_SHARED)  # the exact types: one set lookup per field


@lru_cache(maxsize=65_536)
def _sku_id(sku: str) -> UUID:
    """A SKU's stock item id: `uuid5` hashes the SKU with SHA-1 and builds the UUID in
    Python (~10 µs), once per command that loads a stock item by SKU; remembered."""
    return uuid5(SKU_NAMESPACE, sku)


class StockItem(EcoAggregate):
    # Durable goods or not (`DurabilitySet`); None until classified, when a defect gets the
    # durable goods' longer window. A class default: snapshots older than the attribute
    # read it as unclassified.
    durable: bool | None = None
    # v2 state (snapshots) holds `variant_of` and `gtin`; older snapshots are upcast.
    class_version = 2

    @staticmethod
    def upcast_v1_v2(state: dict[str, Any]) -> None:
        """A snapshot taken before products: its own product (`product_id`), no GTIN."""
        state["variant_of"] = None
        state["gtin"] = ""

    class Registered(EcoAggregate.Created):
        """v4 adds `product_id` (the product this SKU is a variant of) and `gtin` (its
        barcode, "" for none); see docs/catalog.md."""

        class_version = 4

        sku: str
        name: str
        description: str
        category: str
        price: Money
        initial_quantity: int
        sustainability: Sustainability
        weight_grams: int
        product_id: UUID
        gtin: str

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            """v1 had no weight: every product weighed the default."""
            state["weight_grams"] = DEFAULT_WEIGHT_GRAMS

        @staticmethod
        def upcast_v2_v3(state: dict[str, Any]) -> None:
            """v2 held the sustainability data as a dict."""
            state["sustainability"] = Sustainability.of(state["sustainability"])

        @staticmethod
        def upcast_v3_v4(state: dict[str, Any]) -> None:
            """Before products, a stock item was a single-variant product: its own."""
            state["product_id"] = state["originator_id"]
            state["gtin"] = ""

    class DetailsEdited(EcoAggregate.Event):
        class_version = 2

        name: str
        description: str
        category: str
        weight_grams: int
        sustainability: Sustainability

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            state["sustainability"] = Sustainability.of(state["sustainability"])

    class DurabilitySet(EcoAggregate.Event):
        """Whether the product is durable goods (CDC art. 26: 90 days to claim a defect) or
        not (30 days)."""

        durable: bool

    class Archived(EcoAggregate.Event):
        pass

    class Received(EcoAggregate.Event):
        """v2 adds `reference` (the supplier's invoice / nota fiscal number); receipts
        stored as v1 read as having none. See docs/events-that-evolve.md."""

        class_version = 2
        quantity: int
        reference: str

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            state["reference"] = ""

    class Restocked(EcoAggregate.Event):
        order_id: UUID  # units of this shipped order came back (a return)
        quantity: int

    class Adjusted(EcoAggregate.Event):
        quantity_delta: int
        reason: str

    class PriceChanged(EcoAggregate.Event):
        price: Money

    class GtinChanged(EcoAggregate.Event):
        gtin: str

    class Reserved(EcoAggregate.Event):
        order_id: UUID
        quantity: int

    class Released(EcoAggregate.Event):
        order_id: UUID
        quantity: int

    class Committed(EcoAggregate.Event):
        order_id: UUID
        quantity: int

    @staticmethod
    def create_id(sku: str) -> UUID:
        return _sku_id(sku)

    @classmethod
    def register(
        cls,
        *,
        sku: str,
        name: str,
        description: str,
        category: str,
        price: Money,
        initial_quantity: int,
        sustainability: Sustainability | Mapping[str, Any],
        weight_grams: int = DEFAULT_WEIGHT_GRAMS,
        product_id: UUID | None = None,
        gtin: str = "",
    ) -> StockItem:
        """`product_id`: the product this SKU is a variant of; none, its own product."""
        check_sku(sku)
        cls.check_price(price)
        cls.check_quantity(initial_quantity, allow_zero=True)
        cls.check_weight(weight_grams)
        check_gtin(gtin)
        return cls(
            sku=sku,
            name=name,
            description=description,
            category=category,
            price=price,
            initial_quantity=initial_quantity,
            sustainability=Sustainability.of(sustainability),
            weight_grams=weight_grams,
            product_id=product_id or cls.create_id(sku),
            gtin=gtin,
        )

    @event(Registered)
    def __init__(
        self,
        *,
        sku: str,
        name: str,
        description: str,
        category: str,
        price: Money,
        initial_quantity: int,
        sustainability: Sustainability,
        weight_grams: int,
        product_id: UUID,
        gtin: str,
    ) -> None:
        self.sku = sku
        self.variant_of: UUID | None = product_id
        self.gtin = gtin
        self.name = name
        self.description = description
        self.category = category
        self.price = price
        self.sustainability = sustainability
        self.weight_grams = weight_grams
        self.archived = False
        self.on_hand = initial_quantity
        self.reservations: dict[str, int] = {}

    def __deepcopy__(self, memo: dict[int, Any]) -> StockItem:
        """The copy a command gets from the repository's cache, made field by field: the
        values a stock item holds are immutable but for its containers, and the generic
        deep copy was a tenth of a command's CPU (it walked every value)."""
        clone = object.__new__(type(self))
        fields = clone.__dict__
        for name, value in self.__dict__.items():
            kind = type(value)
            if name == "reservations":  # order id -> quantity, both immutable: one copy
                value = dict(value)  # of the dict (it holds every open order's)
            elif kind is list and not value:
                value = []  # no pending events
            elif kind not in _SHARED_TYPES and not isinstance(value, _SHARED):
                value = copy.deepcopy(value, memo)
            fields[name] = value
        return clone

    @property
    def product_id(self) -> UUID:
        """The product this SKU is a variant of (its own id for a single-variant one)."""
        return self.variant_of or self.id

    @property
    def reserved(self) -> int:
        return sum(self.reservations.values())

    @property
    def available(self) -> int:
        return self.on_hand - self.reserved

    @property
    def carbon_footprint_kg(self) -> Decimal:
        return footprint_of(self.sustainability)

    # Guards -------------------------------------------------------------------------------
    @staticmethod
    def check_quantity(quantity: int, *, allow_zero: bool = False) -> None:
        if not isinstance(quantity, int) or isinstance(quantity, bool):
            raise InvalidStockQuantityError("quantity must be an integer")
        low = 0 if allow_zero else 1
        if not low <= quantity <= MAX_QUANTITY:
            raise InvalidStockQuantityError(f"quantity must be between {low} and {MAX_QUANTITY}")

    @staticmethod
    def check_weight(weight_grams: int) -> None:
        if not isinstance(weight_grams, int) or isinstance(weight_grams, bool):
            raise InvalidInputError("weight_grams must be an integer")
        if not 1 <= weight_grams <= MAX_WEIGHT_GRAMS:
            raise InvalidInputError(f"weight_grams must be between 1 and {MAX_WEIGHT_GRAMS}")

    def check_not_archived(self) -> None:
        if self.archived:
            raise ArchivedProductError(f"{self.sku} is archived: it is no longer sold")

    @staticmethod
    def check_price(price: Money) -> None:
        if not price.is_positive:
            raise InvalidInputError("price must be greater than zero")

    def check_available(self, quantity: int) -> None:
        if quantity > self.available:
            raise InsufficientStockError(
                f"{self.sku}: {quantity} requested, {self.available} available"
            )

    def check_adjustment(self, quantity_delta: int) -> None:
        if not isinstance(quantity_delta, int) or isinstance(quantity_delta, bool):
            raise InvalidStockQuantityError("quantity_delta must be an integer")
        if quantity_delta == 0 or abs(quantity_delta) > MAX_QUANTITY:
            raise InvalidStockQuantityError(
                f"quantity_delta must be non-zero and at most {MAX_QUANTITY} in size"
            )
        if self.on_hand + quantity_delta < self.reserved:
            raise InsufficientStockError(
                f"{self.sku}: adjusting by {quantity_delta} would leave less on hand "
                f"({self.on_hand + quantity_delta}) than is reserved ({self.reserved})"
            )

    @staticmethod
    def check_reference(reference: str) -> None:
        if len(reference) > MAX_REFERENCE or not reference.isprintable():
            raise InvalidReferenceError(
                f"a receipt reference is at most {MAX_REFERENCE} printable characters"
            )

    # Commands ----------------------------------------------------------------------------
    def edit(
        self,
        *,
        name: str | None = None,
        description: str | None = None,
        category: str | None = None,
        weight_grams: int | None = None,
        sustainability: Sustainability | Mapping[str, Any] | None = None,
    ) -> None:
        """Change what is given; nothing changes if nothing differs."""
        new: dict[str, Any] = {
            "name": self.name if name is None else name,
            "description": self.description if description is None else description,
            "category": self.category if category is None else category,
            "weight_grams": self.weight_grams if weight_grams is None else weight_grams,
            "sustainability": (
                self.sustainability if sustainability is None else Sustainability.of(sustainability)
            ),
        }
        self.check_weight(new["weight_grams"])
        old = {k: getattr(self, k) for k in new}
        if new != old:
            self._details_edited(**new)

    def set_durable(self, durable: bool) -> None:
        """Classify the product as durable goods or not; nothing changes if it already is."""
        if self.durable is not durable:
            self._durability_set(durable=durable)

    def change_gtin(self, gtin: str) -> None:
        check_gtin(gtin)
        if gtin != self.gtin:
            self._gtin_changed(gtin=gtin)

    def archive(self) -> None:
        if not self.archived:
            self._archived()

    def receive(self, quantity: int, reference: str = "") -> None:
        self.check_quantity(quantity)
        self.check_reference(reference)
        self._received(quantity=quantity, reference=reference)

    def restock(self, order_id: UUID, quantity: int) -> None:
        """Returned units are back on the shelf."""
        self.check_quantity(quantity)
        self._restocked(order_id=order_id, quantity=quantity)

    def adjust(self, quantity_delta: int, reason: str) -> None:
        self.check_adjustment(quantity_delta)
        self._adjusted(quantity_delta=quantity_delta, reason=reason)

    def change_price(self, price: Money) -> None:
        self.check_price(price)
        if price != self.price:
            self._price_changed(price=price)

    def reserve(self, order_id: UUID, quantity: int) -> None:
        """Hold `quantity` units for `order_id`; a repeat of the same reservation is a no-op."""
        self.check_quantity(quantity)
        if str(order_id) in self.reservations:
            return
        self.check_available(quantity)
        self._reserved(order_id=order_id, quantity=quantity)

    def release(self, order_id: UUID) -> None:
        """Give back the units held for `order_id`; releasing nothing is a no-op."""
        quantity = self.reservations.get(str(order_id))
        if quantity is not None:
            self._released(order_id=order_id, quantity=quantity)

    def commit(self, order_id: UUID) -> None:
        """The order shipped: its reserved units leave the warehouse."""
        quantity = self.reservations.get(str(order_id))
        if quantity is None:
            raise ReservationNotFoundError(f"{self.sku}: no reservation for order {order_id}")
        self._committed(order_id=order_id, quantity=quantity)

    # Mutators (also run on replay: no guards here) ----------------------------------------
    @event(Received)
    def _received(self, quantity: int, reference: str) -> None:
        self.on_hand += quantity

    @event(Adjusted)
    def _adjusted(self, quantity_delta: int, reason: str) -> None:
        self.on_hand += quantity_delta

    @event(PriceChanged)
    def _price_changed(self, price: Money) -> None:
        self.price = price

    @event(Reserved)
    def _reserved(self, order_id: UUID, quantity: int) -> None:
        self.reservations[str(order_id)] = quantity

    @event(Released)
    def _released(self, order_id: UUID, quantity: int) -> None:
        self.reservations.pop(str(order_id), None)

    @event(Committed)
    def _committed(self, order_id: UUID, quantity: int) -> None:
        self.reservations.pop(str(order_id), None)
        self.on_hand -= quantity

    @event(DetailsEdited)
    def _details_edited(
        self,
        name: str,
        description: str,
        category: str,
        weight_grams: int,
        sustainability: Sustainability,
    ) -> None:
        self.name, self.description, self.category = name, description, category
        self.weight_grams, self.sustainability = weight_grams, sustainability

    @event(DurabilitySet)
    def _durability_set(self, durable: bool) -> None:
        self.durable = durable

    @event(GtinChanged)
    def _gtin_changed(self, gtin: str) -> None:
        self.gtin = gtin

    @event(Archived)
    def _archived(self) -> None:
        self.archived = True

    @event(Restocked)
    def _restocked(self, order_id: UUID, quantity: int) -> None:
        self.on_hand += quantity
