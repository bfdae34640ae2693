"""Compensation, shared by the saga, the timeout and cancellation requests."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from uuid import UUID

from domain.base import EcoAggregate
from domain.order import Order
from domain.payment import payment_id_for_order
from domain.stock_item import StockItem

Finder = Callable[[UUID], Any]  # an aggregate by id, or None


def compensate(order: Order, reason: str, detail: str, find: Finder) -> list[EcoAggregate]:
    """Cancel `order` and undo what it holds: release every reservation it made, and give
    back its money (void or refund). Returns every aggregate to save, together."""
    order.cancel(reason, detail)
    changed: list[EcoAggregate] = [order]
    for line in order.lines:
        item: StockItem = find(StockItem.create_id(line["sku"]))
        item.release(order.id)
        changed.append(item)
    payment = find(payment_id_for_order(order.id))
    if payment is not None:
        payment.give_back(reason)
        changed.append(payment)
    return changed
