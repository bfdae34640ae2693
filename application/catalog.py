"""Catalog and inventory (admins): the catalog service, catalog files included."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from application.catalog_file import CatalogRow
from application.catalog_import import (
    ImportReport,
    ProductMaker,
    Progress,
    RowChange,
    apply,
    import_file,
    plan,
)
from application.errors import AlreadyExistsError, StockItemNotFoundError
from application.event_store import CommandResult, EventStore
from domain.money import Money, check_sku
from domain.stock_item import DEFAULT_WEIGHT_GRAMS, StockItem, Sustainability


class CatalogService:
    def __init__(self, store: EventStore):
        self.store = store
        # Set by the wiring (application/services.py): the product service, so a catalog
        # file can create products with their variants (it is built on this service).
        self.products: ProductMaker | None = None

    def stock_item(self, sku: str) -> StockItem:
        check_sku(sku)
        missing = StockItemNotFoundError(f"no stock item {sku}")
        return self.store.load(StockItem, StockItem.create_id(sku), missing)

    def register_stock_item(
        self,
        *,
        sku: str,
        name: str,
        description: str,
        category: str,
        price: Money,
        initial_quantity: int,
        sustainability: Sustainability | Mapping[str, Any],
        weight_grams: int = DEFAULT_WEIGHT_GRAMS,
    ) -> CommandResult:
        item = StockItem.register(
            sku=sku,
            name=name,
            description=description,
            category=category,
            price=price,
            initial_quantity=initial_quantity,
            sustainability=sustainability,
            weight_grams=weight_grams,
        )
        if item.id in self.store.repository:
            raise AlreadyExistsError(f"stock item {sku} is already registered")
        return self.store.commit(item)

    def receive_stock(
        self, sku: str, quantity: int, expected_version: int | None = None, *, reference: str = ""
    ) -> CommandResult:
        return self._change_stock_item(
            sku, expected_version, lambda item: item.receive(quantity, reference)
        )

    def adjust_stock(
        self, sku: str, quantity_delta: int, reason: str, expected_version: int | None = None
    ) -> CommandResult:
        return self._change_stock_item(
            sku, expected_version, lambda item: item.adjust(quantity_delta, reason)
        )

    def change_price(
        self, sku: str, price: Money, expected_version: int | None = None
    ) -> CommandResult:
        return self._change_stock_item(sku, expected_version, lambda item: item.change_price(price))

    def _change_stock_item(
        self, sku: str, expected_version: int | None, change: Callable[[StockItem], None]
    ) -> CommandResult:
        """Load, check the version, change, commit: on a trusted cached copy, one round trip
        instead of two (the copy checked by its own append; `with_trusted_cache`)."""

        def command() -> CommandResult:
            item = self.stock_item(sku)
            self.store.check_version(item, expected_version)
            change(item)
            return self.store.commit(item)

        return self.store.with_trusted_cache(command)

    def edit_stock_item(
        self,
        sku: str,
        *,
        name: str | None = None,
        description: str | None = None,
        category: str | None = None,
        weight_grams: int | None = None,
        sustainability: Sustainability | Mapping[str, Any] | None = None,
        durable: bool | None = None,
        expected_version: int | None = None,
    ) -> CommandResult:
        """Change what is given; `durable` classifies the product as durable goods or not
        (its defect window: 90 or 30 days from delivery)."""
        item = self.stock_item(sku)
        self.store.check_version(item, expected_version)
        item.edit(
            name=name,
            description=description,
            category=category,
            weight_grams=weight_grams,
            sustainability=sustainability,
        )
        if durable is not None:
            item.set_durable(durable)
        return self.store.commit(item)

    def archive_stock_item(self, sku: str, expected_version: int | None = None) -> CommandResult:
        """Out of search and refused in carts; still readable by SKU and in old orders."""
        item = self.stock_item(sku)
        self.store.check_version(item, expected_version)
        item.archive()
        return self.store.commit(item)

    # Catalog files (application/catalog_import.py) ----------------------------------------
    def plan_row(self, row: CatalogRow) -> RowChange:
        return plan(self, row)

    def apply_row(self, row: CatalogRow) -> RowChange:
        return apply(self, row)

    def import_catalog(
        self,
        data: bytes,
        filename: str,
        *,
        dry_run: bool,
        max_bytes: int,
        progress: Progress | None = None,
    ) -> ImportReport:
        """Read and check every row, then (unless `dry_run` or any error) save the whole
        file in one commit. `CatalogFileRefused` when the file is not a catalog at all."""
        return import_file(
            self,
            data,
            filename,
            dry_run=dry_run,
            max_bytes=max_bytes,
            progress=progress,
            products=self.products,
        )
