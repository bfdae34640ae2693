"""Promotion commands (admins launch and deactivate) and coupon pricing for carts.

A cart records the discount the coupon gives on its lines as they are; whenever its lines
change the discount is priced again, so the cart view shows what checkout will charge."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from application.catalog import CatalogService
from application.errors import AlreadyExistsError, PromotionNotFoundError, UnknownCouponError
from application.event_store import CommandResult, EventStore
from domain.base import now
from domain.cart import Cart
from domain.money import Money
from domain.promotion import PricedLine, Promotion, PromotionError, normalize_code


class PromotionService:
    def __init__(self, store: EventStore, catalog: CatalogService):
        self.store = store
        self.catalog = catalog

    def promotion(self, code: str) -> Promotion:
        missing = PromotionNotFoundError(f"no promotion {normalize_code(code)}")
        return self.store.load(Promotion, Promotion.create_id(code), missing)

    def coupon(self, code: str) -> Promotion:
        try:
            return self.promotion(code)
        except PromotionNotFoundError:
            raise UnknownCouponError(f"unknown coupon {normalize_code(code)}") from None

    def launch_promotion(
        self,
        *,
        code: str,
        description: str,
        kind: str,
        value: Decimal,
        valid_from: datetime,
        valid_until: datetime,
        min_subtotal: Money | None = None,
        max_uses: int | None = None,
        max_uses_per_customer: int | None = None,
        categories: list[str] | None = None,
    ) -> CommandResult:
        promotion = Promotion.launch(
            code=code,
            description=description,
            kind=kind,
            value=value,
            valid_from=valid_from,
            valid_until=valid_until,
            min_subtotal=min_subtotal,
            max_uses=max_uses,
            max_uses_per_customer=max_uses_per_customer,
            categories=categories,
        )
        if self.store.load(Promotion, promotion.id) is not None:
            raise AlreadyExistsError(f"promotion {promotion.code} exists already")
        return self.store.commit(promotion)

    def deactivate_promotion(self, code: str, expected_version: int | None = None) -> CommandResult:
        promotion = self.promotion(code)
        self.store.check_version(promotion, expected_version)
        promotion.deactivate()
        return self.store.commit(promotion)

    # Carts --------------------------------------------------------------------------------
    def priced_lines(self, cart: Cart) -> list[PricedLine]:
        """The cart's lines at today's prices (what checkout charges), with categories."""
        items = [(line, self.catalog.stock_item(line.sku)) for line in cart.lines.values()]
        return [
            PricedLine(line.sku, item.category, item.price.times(line.quantity))
            for line, item in items
        ]

    def coupon_discounts(self, cart: Cart, promotion: Promotion) -> list[Money]:
        """The discount on each of the cart's lines; the coupon must apply and have uses
        left for this customer (422 / 409 otherwise)."""
        lines = self.priced_lines(cart)
        promotion.check_applies(now(), lines)
        promotion.check_available(cart.customer_id)
        return promotion.discounts(lines)

    def reprice_coupon(self, cart: Cart) -> None:
        """After a change of lines: the coupon's discount now (zero if it no longer
        applies; checkout will then refuse it with the reason)."""
        if cart.coupon is None:
            return
        try:
            discount = sum(self.coupon_discounts(cart, self.coupon(cart.coupon)), Money.zero())
        except (PromotionError, UnknownCouponError):
            discount = Money.zero()
        cart.reprice_discount(discount)
