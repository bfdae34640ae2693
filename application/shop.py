"""The command side: each method is get -> change -> save on the EcoVarejo log.

Methods take plain values (already shaped by the edge) and return a `CommandResult`.
Aggregates that must change together are saved in one `save`, so they commit together.
"""

from __future__ import annotations

from typing import Any, TypeVar
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError
from eventsourcing.persistence import IntegrityError

from application.errors import (
    AlreadyExistsError,
    CartNotFoundError,
    StockItemNotFoundError,
    UnknownSkuError,
    VersionConflictError,
)
from application.event_store import CommandResult, EventStoreApp, result_of
from domain.base import EcoAggregate, NotFoundError
from domain.cart import Cart
from domain.money import Money, check_sku
from domain.stock_item import InsufficientStockError, StockItem

A = TypeVar("A", bound=EcoAggregate)


class Shop(EventStoreApp):
    # Plumbing ----------------------------------------------------------------------------
    def _get(self, aggregate_id: UUID, kind: type[A], missing: NotFoundError) -> A:
        try:
            aggregate: object = self.repository.get(aggregate_id)
        except AggregateNotFoundError:
            raise missing from None
        if not isinstance(aggregate, kind):
            raise missing
        return aggregate

    @staticmethod
    def _check_version(aggregate: EcoAggregate, expected_version: int | None) -> None:
        if expected_version is not None and aggregate.version != expected_version:
            raise VersionConflictError(
                f"version is {aggregate.version}, not {expected_version} (If-Match)"
            )

    def _commit(self, primary: EcoAggregate, *others: EcoAggregate) -> CommandResult:
        try:
            recordings = self.save(primary, *others)
        except IntegrityError:
            raise VersionConflictError(
                f"{type(primary).__name__} {primary.id} was changed concurrently; retry"
            ) from None
        return result_of(primary, recordings)

    def stock_item(self, sku: str) -> StockItem:
        check_sku(sku)
        return self._get(
            StockItem.create_id(sku), StockItem, StockItemNotFoundError(f"no stock item {sku}")
        )

    # Catalog and inventory ---------------------------------------------------------------
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

    # Carts -------------------------------------------------------------------------------
    def cart_of(self, cart_id: UUID, customer_id: str) -> Cart:
        """The customer's cart; someone else's cart is reported as not found."""
        cart = self._get(cart_id, Cart, CartNotFoundError(f"no cart {cart_id}"))
        if cart.customer_id != customer_id:
            raise CartNotFoundError(f"no cart {cart_id}")
        return cart

    def _in_stock(self, sku: str, quantity: int) -> StockItem:
        """The catalog item, if `quantity` units of it are available right now."""
        try:
            item = self.stock_item(sku)
        except StockItemNotFoundError:
            raise UnknownSkuError(f"unknown SKU {sku}") from None
        if quantity > item.available:
            raise InsufficientStockError(f"{sku}: {quantity} wanted, {item.available} available")
        return item

    def create_cart(self, customer_id: str) -> CommandResult:
        return self._commit(Cart(customer_id=customer_id))

    def add_cart_item(
        self,
        cart_id: UUID,
        customer_id: str,
        sku: str,
        quantity: int,
        expected_version: int | None = None,
    ) -> CommandResult:
        cart = self.cart_of(cart_id, customer_id)
        self._check_version(cart, expected_version)
        cart.check_open()
        in_cart = cart.lines[sku].quantity if sku in cart.lines else 0
        item = self._in_stock(sku, in_cart + quantity)
        cart.add_item(sku, item.name, quantity, item.price)
        return self._commit(cart)

    def change_cart_item(
        self,
        cart_id: UUID,
        customer_id: str,
        sku: str,
        quantity: int,
        expected_version: int | None = None,
    ) -> CommandResult:
        cart = self.cart_of(cart_id, customer_id)
        self._check_version(cart, expected_version)
        cart.check_has_line(sku)
        self._in_stock(sku, quantity)
        cart.change_quantity(sku, quantity)
        return self._commit(cart)

    def remove_cart_item(
        self, cart_id: UUID, customer_id: str, sku: str, expected_version: int | None = None
    ) -> CommandResult:
        cart = self.cart_of(cart_id, customer_id)
        self._check_version(cart, expected_version)
        cart.remove_item(sku)
        return self._commit(cart)
