"""Which product a SKU belongs to, and whether a product exists: in ONE place.

A SKU is a variant: its stock item records the product it belongs to (`product_id`). A
stock item registered before products existed is its own single-variant product, whose id
is the stock item's (the upcast of `StockItem.Registered`). Images and reviews are keyed by
product id and ask only these two functions.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError

from domain.base import NotFoundError
from domain.product import Product
from domain.stock_item import StockItem


class ProductNotFoundError(NotFoundError):
    """No product with that id."""


def _get(repository: Any, aggregate_id: UUID) -> Any:
    try:
        return repository.get(aggregate_id)
    except AggregateNotFoundError:
        return None


def own_product_id(sku: str) -> UUID:
    """The id of a stock item that is its own single-variant product (registered alone,
    with `POST /stock-items`, or before products existed)."""
    return StockItem.create_id(sku)


def product_of_sku(repository: Any, sku: str) -> UUID:
    """The product the SKU is a variant of (a SKU never registered: its would-be own)."""
    item = _get(repository, StockItem.create_id(sku))
    return item.product_id if isinstance(item, StockItem) else StockItem.create_id(sku)


def check_product_exists(repository: Any, product_id: UUID) -> None:
    """404 unless `product_id` names a product: a `Product`, or a stock item that is its
    own single-variant product (a variant's stock item id is not a product id)."""
    found = _get(repository, product_id)
    if isinstance(found, Product):
        return
    if isinstance(found, StockItem) and found.product_id == found.id:
        return
    raise ProductNotFoundError(f"no product {product_id}")
