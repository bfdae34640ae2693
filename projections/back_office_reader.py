"""Queries of the back office's lists: filter, sort, page, and the `total` after filtering.

A list reads its index (newest first) and its rows, then filters and sorts in memory: a
shop's back office holds thousands of rows, not millions, and every filter combination
stays one pass without an index per combination.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from projections.back_office import (
    QUEUE_AWAITING,
    QUEUE_FLAGGED,
    WEBHOOKS_NOT_APPLIED,
    index_of,
    row_key,
)
from projections.readers import Documents, Page

Doc = dict[str, Any]
READ_AT_ONCE = 500
LOW_STOCK = 5  # available at or below this is low (the console's and the API's default)

PRODUCT_SORTS: dict[str, Callable[[Doc], Any]] = {
    "sku": lambda d: d["sku"],
    "name": lambda d: d["name"].casefold(),
    "price": lambda d: Decimal(d["price"]["amount"]),
    "available": lambda d: d["available"],
    "created_at": lambda d: d["created_at"],
}


@dataclass(frozen=True)
class ProductFilter:
    status: str | None = None  # active | archived
    category: str | None = None
    low_stock: bool = False
    low_stock_at: int = LOW_STOCK
    q: str | None = None

    def __call__(self, row: Doc) -> bool:
        if self.status is not None and row["archived"] != (self.status == "archived"):
            return False
        if self.category and row["category"] != self.category:
            return False
        if self.low_stock and (row["archived"] or row["available"] > self.low_stock_at):
            return False
        if self.q:
            words = self.q.casefold()
            return words in row["sku"].casefold() or words in row["name"].casefold()
        return True


def paged(rows: list[Doc], page: int, size: int) -> Page:
    return Page(rows[(page - 1) * size : page * size], len(rows), page, size)


class BackOfficeReader:
    def __init__(self, docs: Documents):
        self.docs = docs

    def _rows(self, index: str, kind: str) -> list[Doc]:
        """Every row of `index`, newest first."""
        found: list[Doc] = []
        start = 0
        while True:
            ids = self.docs.members(index, start, start + READ_AT_ONCE - 1)
            rows = self.docs.get_many([row_key(kind, i) for i in ids])
            found += [r for r in rows if r is not None]
            if len(ids) < READ_AT_ONCE:
                return found
            start += READ_AT_ONCE

    def products(
        self,
        where: ProductFilter,
        sort: str = "created_at",
        descending: bool = True,
        page: int = 1,
        size: int = 20,
    ) -> Page:
        rows = [r for r in self._rows(index_of("product"), "product") if where(r)]
        rows.sort(key=PRODUCT_SORTS[sort], reverse=descending)
        return paged(rows, page, size)

    def product(self, sku: str) -> Doc | None:
        return self.docs.get(row_key("product", sku))

    def skus(self) -> list[str]:
        """Every product's SKU (archived ones too), sorted."""
        return sorted(self.docs.members(index_of("product"), 0, -1))

    def categories(self) -> list[str]:
        return sorted({r["category"] for r in self._rows(index_of("product"), "product")})

    def returns(self, status: str | None = None, page: int = 1, size: int = 20) -> Page:
        return paged(self._rows(index_of("return", status), "return"), page, size)

    def count_returns(self, status: str) -> int:
        return self.docs.count(index_of("return", status))

    def promotions(self, active: bool | None = None, page: int = 1, size: int = 20) -> Page:
        rows = self._rows(index_of("promotion"), "promotion")
        if active is not None:
            rows = [r for r in rows if r["active"] is active]
        return paged(rows, page, size)

    def promotion(self, code: str) -> Doc | None:
        return self.docs.get(row_key("promotion", code))

    def payments(self, queue: str, page: int = 1, size: int = 20) -> Page:
        """`queue`: `flagged` (amount mismatches) or `awaiting` (Pix/boleto not paid yet)."""
        index = QUEUE_FLAGGED if queue == "flagged" else QUEUE_AWAITING
        return paged(self._rows(index, "payment"), page, size)

    def count_payments(self, queue: str) -> int:
        return self.docs.count(QUEUE_FLAGGED if queue == "flagged" else QUEUE_AWAITING)

    def webhooks(self, not_applied: bool = True, page: int = 1, size: int = 20) -> Page:
        index = WEBHOOKS_NOT_APPLIED if not_applied else index_of("webhook")
        return paged(self._rows(index, "webhook"), page, size)

    def customers(self, erased: bool | None = None, page: int = 1, size: int = 20) -> Page:
        rows = self._rows(index_of("customer"), "customer")
        if erased is not None:
            rows = [r for r in rows if r["erased"] is erased]
        return paged(rows, page, size)
