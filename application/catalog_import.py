"""Importing a catalog file: each row creates its product or brings it to the file's name,
category, price, details and stock count, in one commit per SKU (get → change → save), so
running the same file again changes nothing. A file with any bad row is applied not at all:
the report lists every error (line and field) and a dry run lists what would change."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from application.catalog_file import CatalogRow, RowError, parse, records
from application.errors import StockItemNotFoundError
from application.event_store import CommandResult, EventStore
from domain.base import DomainError
from domain.stock_item import StockItem, Sustainability

Progress = Callable[[int, int], None]


class CatalogService(Protocol):
    """What a catalog file needs of the catalog service (application/catalog.py)."""

    store: EventStore

    def stock_item(self, sku: str) -> StockItem: ...

    @property
    def register_stock_item(self) -> Callable[..., CommandResult]: ...


@dataclass
class RowChange:
    line: int
    sku: str
    action: str  # create | update | unchanged
    fields: list[str] = field(default_factory=list)


@dataclass
class ImportReport:
    dry_run: bool
    rows: int = 0
    changes: list[RowChange] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)

    def count(self, action: str) -> int:
        return sum(1 for c in self.changes if c.action == action)

    @property
    def applied(self) -> bool:
        return not self.dry_run and not self.errors

    def as_dict(self) -> dict[str, Any]:
        return {
            "dry_run": self.dry_run,
            "applied": self.applied,
            "rows": self.rows,
            "created": self.count("create"),
            "updated": self.count("update"),
            "unchanged": self.count("unchanged"),
            "changes": [vars(c) for c in self.changes if c.action != "unchanged"],
            "errors": [vars(e) for e in self.errors],
        }


def differences(item: StockItem, row: CatalogRow) -> list[str]:
    """The fields the row would change on `item`."""
    changed = [
        name
        for name, new in (
            ("name", row.name),
            ("category", row.category),
            ("description", row.description),
            ("weight_grams", row.weight_grams),
        )
        if getattr(item, name) != new
    ]
    if item.sustainability != Sustainability.of(row.sustainability):
        changed.append("sustainability")
    if item.price != row.price:
        changed.append("price")
    if row.stock is not None and row.stock != item.on_hand:
        changed.append("stock")
    if item.archived:
        changed.append("archived")  # reported: an import does not bring a product back
    return changed


def _existing(catalog: CatalogService, sku: str) -> StockItem | None:
    try:
        return catalog.stock_item(sku)
    except StockItemNotFoundError:
        return None


def plan(catalog: CatalogService, row: CatalogRow) -> RowChange:
    """What applying the row would change (a dry run)."""
    item = _existing(catalog, row.sku)
    if item is None:
        return RowChange(row.line, row.sku, "create", ["everything"])
    changed = [f for f in differences(item, row) if f != "archived"]
    return RowChange(row.line, row.sku, "update" if changed else "unchanged", changed)


def apply(catalog: CatalogService, row: CatalogRow) -> RowChange:
    """The row's product, created or changed in one commit."""
    item = _existing(catalog, row.sku)
    if item is None:
        catalog.register_stock_item(
            sku=row.sku,
            name=row.name,
            description=row.description,
            category=row.category,
            price=row.price,
            initial_quantity=row.stock or 0,
            sustainability=row.sustainability,
            weight_grams=row.weight_grams,
        )
        return RowChange(row.line, row.sku, "create", ["everything"])
    changed = [f for f in differences(item, row) if f != "archived"]
    if not changed:
        return RowChange(row.line, row.sku, "unchanged")
    item.edit(
        name=row.name,
        description=row.description,
        category=row.category,
        weight_grams=row.weight_grams,
        sustainability=row.sustainability,
    )
    item.change_price(row.price)
    if row.stock is not None and row.stock != item.on_hand:
        item.adjust(row.stock - item.on_hand, f"catalog import, line {row.line}")
    catalog.store.commit(item)
    return RowChange(row.line, row.sku, "update", changed)


def import_file(
    catalog: CatalogService,
    data: bytes,
    filename: str,
    *,
    dry_run: bool,
    max_bytes: int,
    progress: Progress | None = None,
) -> ImportReport:
    """Read, check every row, then (unless `dry_run` or any error) apply row by row."""
    rows, errors = parse(records(data, filename, max_bytes))
    report = ImportReport(dry_run, rows=len(rows) + len({e.line for e in errors}))
    report.errors = errors
    step = plan if dry_run or errors else apply
    for done, row in enumerate(rows, start=1):
        try:
            report.changes.append(step(catalog, row))
        except DomainError as error:  # e.g. a stock count below what is reserved
            report.errors.append(RowError(row.line, "row", str(error)))
        if progress is not None and (done % 25 == 0 or done == len(rows)):
            progress(done, len(rows))
    return report
