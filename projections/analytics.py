"""Analyst projections: sales per day and per category, CO2 per order and per category,
top products, and per customer. A sale counts when an order is confirmed, and is taken back
if the order is cancelled afterwards; returned units and their refunds are taken off.
Revenue is what the events say was charged for each line, net of its discount share, never
price x quantity. Rebuildable like every read model.

Only the `customer` rows profile a person, so only they depend on the customer's consent to
`analytics` (LGPD art. 7, I): an order counts there only if confirmed while the consent
holds; withdrawing it (or an erasure) deletes the customer's row, and a new grant starts
afresh from the next order. Every other row is a total over everyone (or one order's own
figure) and counts every sale."""

from __future__ import annotations

from decimal import Decimal
from functools import singledispatchmethod
from typing import Any, Protocol

from domain.customer import Customer
from domain.order import Order
from domain.payment import Payment
from domain.settlement import Settlement
from domain.stock_item import StockItem
from projections.base import Change, Delete, DocumentProjection, IndexAdd, IndexRemove, Put

PROFILING = "analytics"  # the consent purpose the customer rows need


def _dec(value: Any) -> Decimal:
    return Decimal(str(value))


class AnalyticsProjection(DocumentProjection):
    name = "analytics"

    @singledispatchmethod
    def evolve(self, domain_event: Any) -> list[Change]:
        return []

    @evolve.register
    def _registered(self, event: StockItem.Registered) -> list[Change]:
        return [
            Put(f"catalog:{event.sku}", {"name": event.name, "category": event.category}),
            Put(f"item:{event.originator_id}", {"sku": event.sku}),
        ]

    @evolve.register
    def _details_edited(self, event: StockItem.DetailsEdited) -> list[Change]:
        """A product moved to another category: its sales from now on count there; what
        was counted before stays where it was (each order keeps the category it counted)."""
        item = self.view.get(f"item:{event.originator_id}")
        if item is None:
            return []  # registered before this read model knew items: rebuild it
        return [Put(f"catalog:{item['sku']}", {"name": event.name, "category": event.category})]

    @evolve.register
    def _placed(self, event: Order.Placed) -> list[Change]:
        # Revenue is what the event says was charged for each line (net of its discount
        # share), never recomputed from a price: prices change, discounts exist.
        lines = [
            {
                "sku": ln.sku,
                "quantity": ln.quantity,
                "revenue": str(ln.net.amount),
                "co2": str(ln.footprint_kg),
            }
            for ln in event.lines
        ]
        doc = {"lines": lines, "counted": None, "customer": event.customer_id, "profiled": None}
        return [Put(f"order:{event.originator_id}", doc)]

    @evolve.register
    def _confirmed(self, event: Order.Confirmed) -> list[Change]:
        return self._count(event, sign=1)

    @evolve.register
    def _cancelled(self, event: Order.Cancelled) -> list[Change]:
        return self._count(event, sign=-1)

    def _count(self, event: Order.Event, sign: int) -> list[Change]:
        order = self.view.get(f"order:{event.originator_id}")
        if order is None or (sign > 0) == (order["counted"] is not None):
            return []  # nothing placed, already counted, or cancelled before confirmation
        day = order["counted"] if sign < 0 else event.timestamp.date().isoformat()
        order["counted"] = day if sign > 0 else None
        rows = _Rows(self.view.get, sign)
        lines = order["lines"]
        for line in lines:
            # The category the line is counted under, so taking it back later (a
            # cancellation, a return) takes it from there even if the product has moved.
            if sign > 0 or "category" not in line:
                line["category"] = self._category(line["sku"])
        rows.add(
            "sales:day",
            day,
            score=float(day.replace("-", "")),
            orders=1,
            units=sum(ln["quantity"] for ln in lines),
            revenue=sum((_dec(ln["revenue"]) for ln in lines), Decimal("0")),
        )
        rows.add(
            "co2:order",
            str(event.originator_id),
            kg=sum((_dec(ln["co2"]) for ln in lines), Decimal("0")),
        )
        for category in sorted({ln["category"] for ln in lines}):
            rows.add("sales:category", category, orders=1)
        for line in lines:
            category = line["category"]
            rows.add(
                "sales:category", category, units=line["quantity"], revenue=_dec(line["revenue"])
            )
            rows.add("co2:category", category, kg=_dec(line["co2"]))
            rows.add("product", line["sku"], units=line["quantity"], revenue=_dec(line["revenue"]))
        if self._profiles(order, counting=sign > 0):
            rows.add(
                "customer",
                order["customer"],
                orders=1,
                units=sum(ln["quantity"] for ln in lines),
                revenue=sum((_dec(ln["revenue"]) for ln in lines), Decimal("0")),
                kg=sum((_dec(ln["co2"]) for ln in lines), Decimal("0")),
            )
        return [Put(f"order:{event.originator_id}", order), *rows.changes()]

    def _profiles(self, order: dict[str, Any], counting: bool) -> bool:
        """Whether this count (or taking back) goes into the customer's row: counting, if
        the customer consents now (the order remembers under which grant); taking back,
        if it was counted under the grant that still holds. Marks the order."""
        consent = self.view.get(consent_key(order.get("customer")))
        holding = consent["since"] if consent is not None and consent["granted"] else None
        if counting:
            order["profiled"] = holding
            return holding is not None
        profiled, order["profiled"] = order.get("profiled"), None
        return profiled is not None and profiled == holding

    # Consent to analytics ---------------------------------------------------------------------
    @evolve.register
    def _customer(self, event: Customer.Registered) -> list[Change]:
        doc = {"customer_id": event.customer_id, "granted": False, "since": None}
        return [Put(f"consent:{event.originator_id}", doc)]

    @evolve.register
    def _granted(self, event: Customer.ConsentGranted) -> list[Change]:
        consent = self.view.get(f"consent:{event.originator_id}")
        if event.purpose != PROFILING or consent is None or consent["granted"]:
            return []  # another purpose, or a new text version of a consent that holds
        consent.update(granted=True, since=event.originator_version)
        return [Put(f"consent:{event.originator_id}", consent)]

    @evolve.register
    def _withdrawn(self, event: Customer.ConsentWithdrawn | Customer.Forgotten) -> list[Change]:
        """The customer's row goes: what was profiled under the consent is not kept."""
        if isinstance(event, Customer.ConsentWithdrawn) and event.purpose != PROFILING:
            return []
        consent = self.view.get(f"consent:{event.originator_id}")
        if consent is None:
            return []
        customer_id = consent["customer_id"]
        consent.update(granted=False, since=None)
        # Once forgotten, a customer can never consent again: nothing is kept of them.
        kept: Change = (
            Delete(f"consent:{event.originator_id}")
            if isinstance(event, Customer.Forgotten)
            else Put(f"consent:{event.originator_id}", consent)
        )
        return [kept, Delete(f"customer:{customer_id}"), IndexRemove("customers", customer_id)]

    @evolve.register
    def _return_opened(self, event: Order.ReturnOpened) -> list[Change]:
        order = self.view.get(f"order:{event.originator_id}")
        if order is None:
            return []
        returns = order.setdefault("returns", {})
        counted_in = {ln["sku"]: ln.get("category") for ln in order["lines"]}
        returns[str(event.return_id)] = [
            {
                "sku": ln.sku,
                "quantity": ln.quantity,
                "refund": str(ln.refund.amount),
                "category": counted_in.get(ln.sku) or self._category(ln.sku),
            }
            for ln in event.lines
        ]
        return [Put(f"order:{event.originator_id}", order)]

    @evolve.register
    def _items_returned(self, event: Order.ItemsReturned) -> list[Change]:
        """Sales are net of refunds: what came back is taken off the day it was sold."""
        order = self.view.get(f"order:{event.originator_id}")
        if order is None:
            return []
        lines = order.get("returns", {}).pop(str(event.return_id), [])
        day = order["counted"]
        if day is None or not lines:
            return [Put(f"order:{event.originator_id}", order)]
        rows = _Rows(self.view.get, -1)
        rows.add(
            "sales:day",
            day,
            score=float(day.replace("-", "")),
            units=sum(ln["quantity"] for ln in lines),
            revenue=event.refund.amount,
        )
        for line in lines:
            category = line.get("category") or self._category(line["sku"])
            rows.add(
                "sales:category", category, units=line["quantity"], revenue=_dec(line["refund"])
            )
            rows.add("product", line["sku"], units=line["quantity"], revenue=_dec(line["refund"]))
        if order.get("profiled") is not None and self._profiles(dict(order), counting=False):
            units = sum(ln["quantity"] for ln in lines)
            rows.add("customer", order["customer"], units=units, revenue=event.refund.amount)
        return [Put(f"order:{event.originator_id}", order), *rows.changes()]

    # Chargebacks: money a lost dispute took back, on the day the order was counted --------
    @evolve.register
    def _payment_requested(self, event: Payment.Requested) -> list[Change]:
        return [Put(f"payment:{event.originator_id}", {"order": str(event.order_id)})]

    @evolve.register
    def _dispute_lost(self, event: Payment.DisputeLost) -> list[Change]:
        """Shown apart (`chargebacks` on the day's sales), not taken off the lines' revenue:
        a chargeback takes the whole charge back, shipping included."""
        payment = self.view.get(f"payment:{event.originator_id}") or {}
        order = self.view.get(f"order:{payment.get('order')}")
        if order is None or order["counted"] is None:
            return []
        day = order["counted"]
        rows = _Rows(self.view.get, 1)
        rows.add(
            "sales:day", day, score=float(day.replace("-", "")), chargebacks=event.amount.amount
        )
        return rows.changes()

    # Settlements: gross, fees and net per provider and period (`finance reconcile --record`)
    @evolve.register
    def _settlement_opened(self, event: Settlement.Opened) -> list[Change]:
        period = {"provider": event.provider, "start": event.start, "end": event.end}
        return [Put(f"settlement:{event.originator_id}", period)]

    @evolve.register
    def _reconciled(self, event: Settlement.Reconciled) -> list[Change]:
        """The latest reconciliation of the period stands (a re-run replaces the row)."""
        period = self.view.get(f"settlement:{event.originator_id}")
        if period is None:
            return []
        key = f"{period['provider']} {period['start']}..{period['end']}"
        money = ("gross", "refunds", "chargebacks", "fees", "net")
        doc = {
            "key": key,
            **period,
            **{name: str(getattr(event, name).amount) for name in money},
            "matched": event.matched,
            "unresolved": event.unresolved,
        }
        score = float(period["start"].replace("-", ""))
        return [Put(f"finance:{key}", doc), IndexAdd("finances", key, score)]

    def _category(self, sku: str) -> str:
        return str((self.view.get(f"catalog:{sku}") or {}).get("category", "?"))


def consent_key(customer_id: str | None) -> str:
    return f"consent:{Customer.create_id(customer_id or '')}"


class _Rows:
    """The rows one event changes, added up in memory, then written once each."""

    def __init__(self, get: Any, sign: int):
        self._get = get
        self._sign = sign
        self._docs: dict[str, dict[str, Any]] = {}
        self._scores: dict[str, float | None] = {}

    def add(self, kind: str, key: str, score: float | None = None, **amounts: Any) -> None:
        name = f"{kind}:{key}"
        doc = self._docs.get(name) or self._get(name) or {"key": key}
        for field, amount in amounts.items():
            doc[field] = str(_dec(doc.get(field, "0")) + self._sign * _dec(amount))
        self._docs[name] = doc
        self._scores[name] = score if score is not None else self._scores.get(name)

    def changes(self) -> list[Change]:
        """Each row, indexed by `score` (by default its units or kilograms: largest first)."""
        changes: list[Change] = []
        for name, doc in self._docs.items():
            kind = name.rsplit(":", 1)[0]
            score = self._scores[name]
            if score is None:
                score = float(doc.get("units", doc.get("kg", "0")))
            changes += [Put(name, doc), IndexAdd(f"{kind}s", doc["key"], score)]
        return changes


class AnalyticsView(Protocol):
    """What `rows` needs of a stored analytics view (a Redis generation or an in-memory one)."""

    def get_many(self, keys: list[str]) -> list[dict[str, Any] | None]: ...

    def members(self, key: str, start: int, stop: int) -> list[str]: ...


def rows(view: AnalyticsView, kind: str, limit: int = 100) -> list[dict[str, Any]]:
    """The rows of `kind` (sales:day, sales:category, co2:order, co2:category, product,
    customer), largest first by units (or kg)."""
    keys = view.members(f"{kind}s", 0, limit - 1)
    docs = view.get_many([f"{kind}:{k}" for k in keys])
    # Counts are numbers; money and kilograms stay decimal strings (exact).
    return [{k: int(v) if k in COUNTS else v for k, v in d.items()} for d in docs if d is not None]


COUNTS = frozenset({"orders", "units"})
