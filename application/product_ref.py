"""Which product a SKU belongs to, and whether a product exists: in ONE place.

A SKU is a variant: its stock item records the product it belongs to (`product_id`). A
stock item registered before products existed is its own single-variant product, whose id
is the stock item's (the upcast of `StockItem.Registered`). Images and reviews are keyed by
product id and ask only these two functions.
"""

from __future__ import annotations

from uuid import UUID

from application.event_store import EventStore
from domain.base import NotFoundError
from domain.product import Product
from domain.stock_item import StockItem


class ProductNotFoundError(NotFoundError):
    """No product with that id."""


def own_product_id(sku: str) -> UUID:
    """The id of a stock item that is its own single-variant product (registered alone,
    with `POST /stock-items`, or before products existed)."""
    return StockItem.create_id(sku)


def product_of_sku(store: EventStore, sku: str) -> UUID:
    """The product the SKU is a variant of (a SKU never registered: its would-be own)."""
    item = store.load(StockItem, own_product_id(sku))
    return own_product_id(sku) if item is None else item.product_id


def check_product_exists(store: EventStore, product_id: UUID) -> None:
    """404 unless `product_id` names a product: a `Product`, or a stock item that is its
    own single-variant product (a variant's stock item id is not a product id)."""
    if store.load(Product, product_id) is not None:
        return
    item = store.load(StockItem, product_id)
    if item is None or item.product_id != item.id:
        raise ProductNotFoundError(f"no product {product_id}")
