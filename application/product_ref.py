"""Which product a SKU belongs to, and whether a product exists: in ONE place.

Until products with variants land (issue 28, item 1), a stock item is a single-variant
product whose `product_id` is its StockItem id. Images and reviews are keyed by product id
and ask only these two functions; the products work repoints them (a variant's
`StockItem.product_id`, the `Product` aggregate) without touching images or reviews.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError

from domain.base import NotFoundError
from domain.stock_item import StockItem


class ProductNotFoundError(NotFoundError):
    """No product with that id."""


def product_of_sku(sku: str) -> UUID:
    """The product the SKU is a variant of (today: the single-variant product of its stock
    item, whose id is the stock item's)."""
    return StockItem.create_id(sku)


def check_product_exists(repository: Any, product_id: UUID) -> None:
    """404 unless `product_id` names a product (today: a stock item)."""
    try:
        found = repository.get(product_id)
    except AggregateNotFoundError:
        found = None
    if not isinstance(found, StockItem):
        raise ProductNotFoundError(f"no product {product_id}")
