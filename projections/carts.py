"""Cart view: one document per cart, for `GET /carts/{id}`."""

from __future__ import annotations

from functools import singledispatchmethod
from typing import Any

from domain.cart import Cart
from domain.money import Money
from projections.base import Change, DocumentProjection, Put


def cart_key(cart_id: object) -> str:
    return f"cart:{cart_id}"


def _priced(doc: dict[str, Any]) -> None:
    """Line totals, subtotal, and the total net of the discount the events recorded."""
    subtotal = Money.zero()
    for item in doc["items"]:
        line_total = Money.from_dict(item["unit_price"]).times(item["quantity"])
        item["line_total"] = line_total.to_dict()
        subtotal += line_total
    discount = Money.from_dict(doc.get("discount") or Money.zero().to_dict())
    doc["subtotal"] = subtotal.to_dict()
    doc["discount"] = discount.to_dict()
    doc["total"] = (subtotal - discount).to_dict()


class CartsProjection(DocumentProjection):
    name = "carts"

    def _update(self, event: Cart.Event, **fields: Any) -> list[Change]:
        doc = self.view.get(cart_key(event.originator_id))
        if doc is None:
            return []
        doc.update(fields)
        _priced(doc)
        doc["version"] = event.originator_version
        return [Put(cart_key(event.originator_id), doc)]

    def _items(self, event: Cart.Event) -> list[dict[str, Any]]:
        doc: dict[str, Any] | None = self.view.get(cart_key(event.originator_id))
        return list(doc["items"]) if doc else []

    @singledispatchmethod
    def evolve(self, domain_event: Any) -> list[Change]:
        return []

    @evolve.register
    def _created(self, event: Cart.Created) -> list[Change]:
        doc: dict[str, Any] = {
            "cart_id": str(event.originator_id),
            "customer_id": event.customer_id,
            "status": "open",
            "items": [],
            "subtotal": Money.zero().to_dict(),
            "coupon": None,
            "discount": Money.zero().to_dict(),
            "total": Money.zero().to_dict(),
            "order_id": None,
            "version": event.originator_version,
        }
        return [Put(cart_key(event.originator_id), doc)]

    @evolve.register
    def _item_added(self, event: Cart.ItemAdded) -> list[Change]:
        items = self._items(event)
        previous = next((i for i in items if i["sku"] == event.sku), None)
        quantity = event.quantity + (previous["quantity"] if previous else 0)
        line = {
            "sku": event.sku,
            "name": event.name,
            "quantity": quantity,
            "unit_price": event.unit_price.to_dict(),
        }
        if previous is None:
            items.append(line)
        else:
            items[items.index(previous)] = line
        return self._update(event, items=items)

    @evolve.register
    def _quantity_changed(self, event: Cart.ItemQuantityChanged) -> list[Change]:
        items = [
            {**i, "quantity": event.quantity} if i["sku"] == event.sku else i
            for i in self._items(event)
        ]
        return self._update(event, items=items)

    @evolve.register
    def _item_removed(self, event: Cart.ItemRemoved) -> list[Change]:
        items = [i for i in self._items(event) if i["sku"] != event.sku]
        return self._update(event, items=items)

    @evolve.register
    def _checked_out(self, event: Cart.CheckedOut) -> list[Change]:
        return self._update(event, status="checked_out", order_id=str(event.order_id))

    @evolve.register
    def _coupon_applied(self, event: Cart.CouponApplied) -> list[Change]:
        return self._update(event, coupon=event.code, discount=event.discount.to_dict())

    @evolve.register
    def _discount_changed(self, event: Cart.DiscountChanged) -> list[Change]:
        return self._update(event, discount=event.discount.to_dict())

    @evolve.register
    def _coupon_removed(self, event: Cart.CouponRemoved) -> list[Change]:
        return self._update(event, coupon=None, discount=Money.zero().to_dict())
