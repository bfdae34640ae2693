"""Public integration events: which domain events other services may subscribe to, and the
CloudEvents 1.0 (structured JSON) each one becomes. The ONE table is `PUBLIC_EVENTS`.

What is published is a contract of its own, versioned apart from the stored events: a
stored event upcast on read (`class_version`) still maps to the same public version, and a
change of a public payload is a new `type` suffix (`.v2`) with a new schema under
docs/events/. No personal data: no names, e-mails, CPFs, addresses, free text, not even the
login; the customer appears as the data subject's pseudonymous id (`DataSubject.create_id`),
the same in every event, so an erasure event tells a consumer which records to forget.

Pure: the lookups a mapping needs (a payment's order, a stock item's availability at a
version) are passed in (`Lookup`), so this module does no I/O.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol
from uuid import UUID

from eventsourcing.utils import get_topic

from domain.delivery import DeliveryStep
from domain.money import Money
from domain.order import Order
from domain.payment import Payment
from domain.personal import DataSubject
from domain.stock_item import StockItem

SOURCE = "urn:ecovarejo:shop"
TYPE_PREFIX = "br.com.ecovarejo."
SCHEMA_BASE = "https://schemas.ecovarejo.com.br/events/"  # docs/events/<type>.schema.json
STOCK_LOW_THRESHOLD = 5  # units available: below this a product is "low"


class Lookup(Protocol):
    def order_of_payment(self, payment_id: UUID) -> UUID: ...

    def available_at(self, stock_item_id: UUID, version: int) -> tuple[str, int]:
        """The stock item's SKU and its available units right after `version`."""
        ...


@dataclass(frozen=True)
class PublicEvent:
    """One CloudEvent: `type` without the prefix (`order.placed.v1`), what it is about."""

    type: str
    subject: str
    data: dict[str, Any]

    @property
    def routing_key(self) -> str:
        return self.type  # consumers bind `order.#`, `payment.*.v1`, `#`...


Mapper = Callable[[Any, Lookup], list[PublicEvent]]


def _money(value: Money) -> dict[str, str]:
    return value.to_dict()


def _customer(customer_id: str) -> str:
    return str(DataSubject.create_id(customer_id))


def _order_placed(e: Order.Placed, _: Lookup) -> list[PublicEvent]:
    data = {
        "order_id": str(e.originator_id),
        "customer": _customer(e.customer_id),
        "lines": [
            {"sku": line.sku, "quantity": line.quantity, "unit_price": _money(line.unit_price)}
            for line in e.lines
        ],
        "totals": {
            "subtotal": _money(e.subtotal),
            "discount": _money(e.discount),
            "shipping": _money(e.shipping),
            "total": _money(e.total),
        },
        "coupon": e.coupon,
        "shipping_method": e.shipping_method,
        "payment_method": e.payment_method.method,
        "carbon_footprint_kg": str(e.carbon_footprint_kg),
    }
    return [PublicEvent("order.placed.v1", str(e.originator_id), data)]


def _order_confirmed(e: Order.Confirmed, _: Lookup) -> list[PublicEvent]:
    data = {"order_id": str(e.originator_id), "payment_id": str(e.payment_id)}
    return [PublicEvent("order.confirmed.v1", str(e.originator_id), data)]


def _order_cancelled(e: Order.Cancelled, _: Lookup) -> list[PublicEvent]:
    # `detail` is the customer's own words (personal data): never published.
    data = {"order_id": str(e.originator_id), "reason": e.reason}
    return [PublicEvent("order.cancelled.v1", str(e.originator_id), data)]


def _order_shipped(e: Order.Shipped, _: Lookup) -> list[PublicEvent]:
    data = {
        "order_id": str(e.originator_id),
        "carrier": e.carrier,
        "tracking_code": e.tracking_code,
        "shipped_at": _time(e.shipped_at),
    }
    return [PublicEvent("order.shipped.v1", str(e.originator_id), data)]


def _order_delivered(e: Order.TrackingUpdated, _: Lookup) -> list[PublicEvent]:
    """Only the step that matters to others (the withdrawal window starts): delivery."""
    if e.step != DeliveryStep.DELIVERED:
        return []
    data = {"order_id": str(e.originator_id), "delivered_at": _time(e.at)}
    return [PublicEvent("order.delivered.v1", str(e.originator_id), data)]


def _payment(kind: str) -> Mapper:
    def mapping(e: Any, lookup: Lookup) -> list[PublicEvent]:
        order_id = lookup.order_of_payment(e.originator_id)
        data = {
            "payment_id": str(e.originator_id),
            "order_id": str(order_id),
            "amount": _money(e.amount),
        }
        # The subject is the order: one order's events (its payment's too) share a key.
        return [PublicEvent(f"payment.{kind}.v1", str(order_id), data)]

    return mapping


def _stock_low(e: Any, lookup: Lookup) -> list[PublicEvent]:
    """Published when availability crosses below the threshold (not on every reservation)."""
    sku, after = lookup.available_at(e.originator_id, e.originator_version)
    change = -e.quantity if isinstance(e, StockItem.Reserved) else e.quantity_delta
    before = after - change
    if not after < STOCK_LOW_THRESHOLD <= before:
        return []
    data = {"sku": sku, "available": after, "threshold": STOCK_LOW_THRESHOLD}
    return [PublicEvent("stock.low.v1", sku, data)]


def _customer_erased(e: DataSubject.PersonalDataErased, _: Lookup) -> list[PublicEvent]:
    data = {"customer": str(e.originator_id)}
    return [PublicEvent("customer.erased.v1", str(e.originator_id), data)]


PUBLIC_EVENTS: dict[type, Mapper] = {
    Order.Placed: _order_placed,
    Order.Confirmed: _order_confirmed,
    Order.Cancelled: _order_cancelled,
    Order.Shipped: _order_shipped,
    Order.TrackingUpdated: _order_delivered,
    Payment.Captured: _payment("captured"),
    Payment.Refunded: _payment("refunded"),
    StockItem.Reserved: _stock_low,
    StockItem.Adjusted: _stock_low,
    DataSubject.PersonalDataErased: _customer_erased,
}
PUBLIC_TOPICS: tuple[str, ...] = tuple(get_topic(cls) for cls in PUBLIC_EVENTS)
PUBLIC_TYPES = (
    "order.placed.v1",
    "order.confirmed.v1",
    "order.cancelled.v1",
    "order.shipped.v1",
    "order.delivered.v1",
    "payment.captured.v1",
    "payment.refunded.v1",
    "stock.low.v1",
    "customer.erased.v1",
)


def _time(at: datetime) -> str:
    return at.isoformat().replace("+00:00", "Z")


def cloud_events(event: Any, position: int, lookup: Lookup) -> list[dict[str, Any]]:
    """The CloudEvents (structured JSON) a stored event becomes; [] if it is not public.
    `id` is stable (aggregate and version), so a consumer drops a redelivered duplicate."""
    mapper = PUBLIC_EVENTS.get(type(event))
    if mapper is None:
        return []
    return [
        {
            "specversion": "1.0",
            "id": f"{event.originator_id}:{event.originator_version}:{public.type}",
            "source": SOURCE,
            "type": TYPE_PREFIX + public.type,
            "subject": public.subject,
            "time": _time(event.timestamp),
            "datacontenttype": "application/json",
            "dataschema": f"{SCHEMA_BASE}{public.type}.schema.json",
            # Extensions: the log position (sequence, to order and to resume), the key that
            # orders an order's events (partitionkey), and the request it came from.
            "sequence": str(position),
            "partitionkey": public.subject,
            "correlationid": getattr(event, "correlation_id", "") or "",
            "data": public.data,
        }
        for public in mapper(event, lookup)
    ]
