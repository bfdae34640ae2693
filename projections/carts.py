"""Cart view: one document per cart, for `GET /carts/{id}`."""

from __future__ import annotations

from decimal import Decimal
from functools import singledispatchmethod
from typing import Any

from domain.cart import Cart
from domain.money import MAX_AMOUNT, Money
from domain.stock_item import StockItem
from projections.base import Change, DocumentProjection, Put


def cart_key(cart_id: object) -> str:
    return f"cart:{cart_id}"


def carts_with(sku: str) -> str:
    """The carts that ever held `sku` (a cart's price follows its products')."""
    return f"carts-with:{sku}"


def sku_of(stock_item_id: object) -> str:
    return f"sku-of:{stock_item_id}"


def _priced(doc: dict[str, Any]) -> None:
    """Line totals, subtotal, and the total net of the discount the events recorded.

    Prices change under open carts, so a line priced within the money limit when added may
    be above it today: such a line shows no total, and the cart `above_money_limit` and no
    totals, rather than a value no Money holds (checkout refuses the cart until it is
    changed). A discount recorded before prices fell is shown at most the subtotal."""
    subtotal, above = Decimal("0"), False
    for item in doc["items"]:
        line_total = Decimal(item["unit_price"]["amount"]) * item["quantity"]
        item["line_total"] = None if line_total > MAX_AMOUNT else Money(line_total).to_dict()
        above = above or line_total > MAX_AMOUNT
        subtotal += line_total
    doc["above_money_limit"] = above or subtotal > MAX_AMOUNT
    if doc["above_money_limit"]:
        doc["subtotal"] = doc["total"] = None
        return
    discount = min(Money.from_dict(doc.get("discount") or Money.zero().to_dict()), Money(subtotal))
    doc["subtotal"] = Money(subtotal).to_dict()
    doc["discount"] = discount.to_dict()
    doc["total"] = (Money(subtotal) - discount).to_dict()


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
        holders = self.view.get(carts_with(event.sku)) or {"carts": []}
        cart_id = str(event.originator_id)
        changes: list[Change] = []
        if cart_id not in holders["carts"]:
            holders["carts"] = [*holders["carts"], cart_id]
            changes.append(Put(carts_with(event.sku), holders))
        return self._update(event, items=items) + changes

    # Prices change under open carts: the cart shows today's price (what checkout charges)
    # and the price the line was added at.
    @evolve.register
    def _product_registered(self, event: StockItem.Registered) -> list[Change]:
        return [Put(sku_of(event.originator_id), {"sku": event.sku})]

    @evolve.register
    def _price_changed(self, event: StockItem.PriceChanged) -> list[Change]:
        ref = self.view.get(sku_of(event.originator_id))
        if ref is None:
            return []
        sku, price = ref["sku"], event.price.to_dict()
        changes: list[Change] = []
        for cart_id in (self.view.get(carts_with(sku)) or {"carts": []})["carts"]:
            doc = self.view.get(cart_key(cart_id))
            if doc is None or doc["status"] != "open":
                continue
            for item in doc["items"]:
                if item["sku"] == sku:
                    was = item.get("price_changed_from") or item["unit_price"]
                    item["unit_price"] = price
                    if was == price:
                        item.pop("price_changed_from", None)
                    else:
                        item["price_changed_from"] = was
            _priced(doc)
            changes.append(Put(cart_key(cart_id), doc))
        return changes

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
    def _shipping_quoted(self, event: Cart.ShippingQuoted) -> list[Change]:
        return self._update(event)  # the cart's version (If-Match at checkout)

    @evolve.register
    def _coupon_removed(self, event: Cart.CouponRemoved) -> list[Change]:
        return self._update(event, coupon=None, discount=Money.zero().to_dict())
