"""Stock-item view: one document per SKU, and beside it the public document
(`GET /stock-items/{sku}`'s answer, stored as canonical JSON so the edge returns its bytes
without parsing, validating and serializing it again)."""

from __future__ import annotations

from functools import singledispatchmethod
from typing import Any
from uuid import UUID

from domain.stock_item import StockItem, Sustainability, footprint_of
from projections.base import Change, Derived, DocumentProjection, Put, put


def stock_key(sku: str) -> str:
    return f"stock:{sku}"


def public_stock_key(sku: str) -> str:
    return f"stock-public:{sku}"


# The fields of the public document, exactly those of the API's `StockItemPublic` (a
# contract test checks that every stored public document validates against it unchanged).
PUBLIC_FIELDS = (
    "sku",
    "name",
    "description",
    "category",
    "price",
    "on_hand",
    "reserved",
    "available",
    "certifications",
    "carbon_footprint_kg",
    "weight_grams",
    "archived",
    "durable",
    "version",
    "product_id",
    "gtin",
)


PUBLIC_DEFAULTS: dict[str, Any] = {
    "weight_grams": 500,
    "archived": False,
    "durable": None,
    "gtin": "",
}


_PUBLIC = frozenset(PUBLIC_FIELDS)
_UNDER = {name: PUBLIC_DEFAULTS.get(name) for name in PUBLIC_FIELDS}


def public_of(doc: dict[str, Any]) -> dict[str, Any]:
    """The public document of a stock item's document."""
    # Each field from the document, else its default (None for most): the defaults laid
    # under the document, in PUBLIC_FIELDS' order (a merge keeps the first position of a
    # key), then the document's other fields dropped.
    public = {**_UNDER, **doc}
    if len(public) != len(_PUBLIC):
        for name in public.keys() - _PUBLIC:
            del public[name]
    return public


def stored(doc: dict[str, Any]) -> list[Change]:
    """The stock item's document and its public document, written together. The public
    document is made when it is written (`Derived`): a rebuild's batch writes a stock
    item's once for all the events of the batch that change it."""
    # Documents written before weight, archiving, durability and products existed lack
    # them: the API's defaults (a stock item of old is its own single-variant product).
    if "product_id" not in doc:  # not setdefault: the id would be derived every time
        doc["product_id"] = str(StockItem.create_id(doc["sku"]))
    sku = doc["sku"]
    return [put(stock_key(sku), doc), Derived(public_stock_key(sku), doc, public_of)]


# The index key of each stock item seen, by its id's 128-bit int: `str(UUID)` is ~1 us of
# Python, and a cache keyed by the `UUID` itself calls its `__hash__` and `__eq__` (Python
# methods, ~0.5 us an event of a rebuild).
_SKU_KEYS: dict[int, str] = {}
_SKU_KEYS_KEPT = 8192


def sku_key(stock_item_id: object) -> str:
    """StockItem events name the aggregate, not the SKU: this index maps one to the other."""
    if type(stock_item_id) is not UUID:
        return f"stock-id:{stock_item_id}"
    number = stock_item_id.int
    key = _SKU_KEYS.get(number)
    if key is None:
        if len(_SKU_KEYS) >= _SKU_KEYS_KEPT:
            _SKU_KEYS.clear()
        key = _SKU_KEYS[number] = f"stock-id:{stock_item_id}"
    return key


class StockItemsProjection(DocumentProjection):
    name = "stock_items"

    def _update(
        self, event: StockItem.Event, fields: dict[str, Any] | None = None, **deltas: int
    ) -> list[Change]:
        peek = self.view.peek
        ref = peek(sku_key(event.originator_id))
        held = peek(stock_key(ref["sku"])) if ref else None
        if held is None:
            return []
        # A copy of the top level is enough: what follows (and `stored`) sets top-level
        # fields only, and nested values (price, sustainability) are replaced, never
        # changed in place, so the document the store holds stays as it was.
        doc = dict(held)
        for name, delta in deltas.items():
            doc[name] += delta
        doc.update(fields or {})
        doc["available"] = doc["on_hand"] - doc["reserved"]
        doc["version"] = event.originator_version
        return stored(doc)

    @singledispatchmethod
    def evolve(self, domain_event: Any) -> list[Change]:
        return []

    @evolve.register
    def _registered(self, event: StockItem.Registered) -> list[Change]:
        sustainability: dict[str, Any] = Sustainability.of(event.sustainability).to_dict()
        footprint = footprint_of(sustainability)
        doc = {
            "sku": event.sku,
            "name": event.name,
            "description": event.description,
            "category": event.category,
            "price": event.price.to_dict(),
            "on_hand": event.initial_quantity,
            "reserved": 0,
            "available": event.initial_quantity,
            "certifications": list(sustainability.get("certifications", [])),
            "carbon_footprint_kg": str(footprint),
            "sustainability": sustainability,
            "weight_grams": event.weight_grams,
            "archived": False,
            "version": event.originator_version,
            "product_id": str(event.product_id),
            "gtin": event.gtin,
        }
        return [*stored(doc), Put(sku_key(event.originator_id), {"sku": event.sku})]

    @evolve.register
    def _received(self, event: StockItem.Received) -> list[Change]:
        return self._update(event, on_hand=event.quantity)

    @evolve.register
    def _adjusted(self, event: StockItem.Adjusted) -> list[Change]:
        return self._update(event, on_hand=event.quantity_delta)

    @evolve.register
    def _reserved(self, event: StockItem.Reserved) -> list[Change]:
        return self._update(event, reserved=event.quantity)

    @evolve.register
    def _released(self, event: StockItem.Released) -> list[Change]:
        return self._update(event, reserved=-event.quantity)

    @evolve.register
    def _committed(self, event: StockItem.Committed) -> list[Change]:
        return self._update(event, reserved=-event.quantity, on_hand=-event.quantity)

    @evolve.register
    def _price_changed(self, event: StockItem.PriceChanged) -> list[Change]:
        return self._update(event, {"price": event.price.to_dict()})

    @evolve.register
    def _details_edited(self, event: StockItem.DetailsEdited) -> list[Change]:
        sustainability: dict[str, Any] = Sustainability.of(event.sustainability).to_dict()
        fields = {
            "name": event.name,
            "description": event.description,
            "category": event.category,
            "weight_grams": event.weight_grams,
            "certifications": list(sustainability.get("certifications", [])),
            "carbon_footprint_kg": str(footprint_of(sustainability)),
            "sustainability": sustainability,
        }
        return self._update(event, fields)

    @evolve.register
    def _durability_set(self, event: StockItem.DurabilitySet) -> list[Change]:
        return self._update(event, {"durable": event.durable})

    @evolve.register
    def _gtin_changed(self, event: StockItem.GtinChanged) -> list[Change]:
        return self._update(event, {"gtin": event.gtin})

    @evolve.register
    def _archived(self, event: StockItem.Archived) -> list[Change]:
        return self._update(event, {"archived": True})

    @evolve.register
    def _restocked(self, event: StockItem.Restocked) -> list[Change]:
        return self._update(event, on_hand=event.quantity)
