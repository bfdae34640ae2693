"""Catalog and inventory commands (admins)."""

from __future__ import annotations

from typing import Any

from application.commands import CommandApp
from application.errors import AlreadyExistsError
from application.event_store import CommandResult
from domain.money import Money
from domain.stock_item import StockItem


class CatalogCommands(CommandApp):
    def register_stock_item(
        self,
        *,
        sku: str,
        name: str,
        description: str,
        category: str,
        price: Money,
        initial_quantity: int,
        sustainability: dict[str, Any],
    ) -> CommandResult:
        item = StockItem.register(
            sku=sku,
            name=name,
            description=description,
            category=category,
            price=price,
            initial_quantity=initial_quantity,
            sustainability=sustainability,
        )
        if item.id in self.repository:
            raise AlreadyExistsError(f"stock item {sku} is already registered")
        return self._commit(item)

    def receive_stock(
        self, sku: str, quantity: int, expected_version: int | None = None
    ) -> CommandResult:
        item = self.stock_item(sku)
        self._check_version(item, expected_version)
        item.receive(quantity)
        return self._commit(item)

    def adjust_stock(
        self, sku: str, quantity_delta: int, reason: str, expected_version: int | None = None
    ) -> CommandResult:
        item = self.stock_item(sku)
        self._check_version(item, expected_version)
        item.adjust(quantity_delta, reason)
        return self._commit(item)

    def change_price(
        self, sku: str, price: Money, expected_version: int | None = None
    ) -> CommandResult:
        item = self.stock_item(sku)
        self._check_version(item, expected_version)
        item.change_price(price)
        return self._commit(item)
