"""Holding and giving back: what a placed order takes (stock, a coupon's use) and how a
cancellation undoes it. Shared by the saga, the deadline and cancellation requests."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from uuid import UUID

from domain.base import EcoAggregate, now
from domain.order import CancellationReason, Order
from domain.promotion import Promotion, PromotionError
from domain.stock_item import InsufficientStockError, StockItem

Finder = Callable[[UUID], Any]  # an aggregate by id (None, or an error, if there is none)


def reserve_for(order: Order, load: Finder) -> list[EcoAggregate] | CancellationReason:
    """Hold the coupon's use and reserve every line of `order`, all or none. Returns the
    aggregates to save with the order; or, when something is short, cancels the order and
    returns the reason (nothing else changed, so nothing needs giving back)."""
    held: list[EcoAggregate] = []
    if order.coupon is not None:
        promotion: Promotion = load(Promotion.create_id(order.coupon))
        try:
            promotion.hold_use(order.id, order.customer_id, now())
        except PromotionError as refusal:
            order.cancel(CancellationReason.COUPON_UNAVAILABLE, str(refusal))
            return CancellationReason.COUPON_UNAVAILABLE
        held.append(promotion)
    items: list[StockItem] = [load(StockItem.create_id(line.sku)) for line in order.lines]
    try:
        for item, line in zip(items, order.lines, strict=True):
            item.reserve(order.id, line.quantity)
    except InsufficientStockError as shortage:
        reason = CancellationReason.INSUFFICIENT_STOCK
        order.cancel(reason, str(shortage))
        return reason
    return [*held, *items]


def compensate(order: Order, reason: str, detail: str, find: Finder) -> list[EcoAggregate]:
    """Cancel `order` and undo what it holds: release every reservation it made, and give
    back its money (void or refund). Returns every aggregate to save, together."""
    order.cancel(reason, detail)
    changed: list[EcoAggregate] = [order]
    for line in order.lines:
        item: StockItem = find(StockItem.create_id(line.sku))
        item.release(order.id)
        changed.append(item)
    if order.coupon is not None:
        promotion: Promotion = find(Promotion.create_id(order.coupon))
        promotion.give_back_use(order.id)
        changed.append(promotion)
    payment = find(order.current_payment_id)  # earlier attempts failed: nothing held
    if payment is not None:
        payment.give_back(reason)
        changed.append(payment)
    return changed
