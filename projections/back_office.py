"""The back office's lists and work queues: one row per product (archived ones included),
return, promotion, payment, webhook delivery and customer, and sorted indexes (newest first)
of each list and of each queue (returns per status, flagged payments, payments awaiting
the payer, webhook deliveries not applied).

Rows hold no personal data: a customer's row is its id, dates, erasure and consents; the
profile is decrypted at read time for admins only (application.customers). A return's row
has no reason (the customer's words stay in the orders read model, which erases them).
"""

from __future__ import annotations

from functools import singledispatchmethod
from typing import Any

from domain.customer import Customer
from domain.payment import Payment
from domain.promotion import Promotion
from domain.returns import Return
from domain.stock_item import StockItem
from domain.webhook import WebhookDelivery
from projections.base import Change, DocumentProjection, IndexAdd, IndexRemove, Put

QUEUE_FLAGGED = "payments:flagged"
QUEUE_AWAITING = "payments:awaiting"
WEBHOOKS_NOT_APPLIED = "webhooks:not_applied"
RETURN_STATUSES = ("requested", "approved", "rejected", "received", "refunded")


def row_key(kind: str, ident: object) -> str:
    return f"{kind}:{ident}"


def index_of(kind: str, status: str | None = None) -> str:
    """The index of every row of `kind` (`products`, `returns`, …), or of one status."""
    return f"{kind}s" if status is None else f"{kind}s:status:{status}"


def _at(event: Any) -> str:
    return str(event.timestamp.isoformat())


def _score(event: Any) -> float:
    return float(event.timestamp.timestamp())


class BackOfficeProjection(DocumentProjection):
    name = "back_office"

    def _row(self, kind: str, ident: object) -> dict[str, Any] | None:
        return self.view.get(row_key(kind, ident))

    def _put(self, kind: str, ident: object, row: dict[str, Any], event: Any) -> Put:
        row["version"] = event.originator_version
        row["updated_at"] = _at(event)
        return Put(row_key(kind, ident), row)

    @singledispatchmethod
    def evolve(self, domain_event: Any) -> list[Change]:
        return []

    # products ------------------------------------------------------------------------
    @evolve.register
    def _registered(self, event: StockItem.Registered) -> list[Change]:
        row = {
            "sku": event.sku,
            "name": event.name,
            "category": event.category,
            "price": event.price.to_dict(),
            "on_hand": event.initial_quantity,
            "reserved": 0,
            "available": event.initial_quantity,
            "archived": False,
            "created_at": _at(event),
        }
        return [
            self._put("product", event.sku, row, event),
            Put(row_key("product-id", event.originator_id), {"sku": event.sku}),
            IndexAdd(index_of("product"), event.sku, _score(event)),
        ]

    def _product(
        self, event: StockItem.Event, fields: dict[str, Any] | None = None, **deltas: int
    ) -> list[Change]:
        ref = self._row("product-id", event.originator_id)
        row = self._row("product", ref["sku"]) if ref else None
        if row is None:
            return []
        for name, delta in deltas.items():
            row[name] += delta
        row.update(fields or {})
        row["available"] = row["on_hand"] - row["reserved"]
        return [self._put("product", row["sku"], row, event)]

    @evolve.register
    def _received(self, event: StockItem.Received | StockItem.Restocked) -> list[Change]:
        return self._product(event, on_hand=event.quantity)

    @evolve.register
    def _adjusted(self, event: StockItem.Adjusted) -> list[Change]:
        return self._product(event, on_hand=event.quantity_delta)

    @evolve.register
    def _reserved(self, event: StockItem.Reserved) -> list[Change]:
        return self._product(event, reserved=event.quantity)

    @evolve.register
    def _released(self, event: StockItem.Released) -> list[Change]:
        return self._product(event, reserved=-event.quantity)

    @evolve.register
    def _committed(self, event: StockItem.Committed) -> list[Change]:
        return self._product(event, reserved=-event.quantity, on_hand=-event.quantity)

    @evolve.register
    def _price_changed(self, event: StockItem.PriceChanged) -> list[Change]:
        return self._product(event, {"price": event.price.to_dict()})

    @evolve.register
    def _details_edited(self, event: StockItem.DetailsEdited) -> list[Change]:
        return self._product(event, {"name": event.name, "category": event.category})

    @evolve.register
    def _archived(self, event: StockItem.Archived) -> list[Change]:
        return self._product(event, {"archived": True})

    # returns -------------------------------------------------------------------------
    @evolve.register
    def _return_requested(self, event: Return.Requested) -> list[Change]:
        return_id, score = str(event.originator_id), _score(event)
        row: dict[str, Any] = {
            "return_id": return_id,
            "order_id": str(event.order_id),
            "customer_id": event.customer_id,
            "status": "requested",
            "lines": [{"sku": ln.sku, "quantity": ln.quantity} for ln in event.lines],
            "refund": sum_refunds(event.lines),
            "requested_at": _at(event),
            "score": score,
        }
        return [
            self._put("return", return_id, row, event),
            IndexAdd(index_of("return"), return_id, score),
            IndexAdd(index_of("return", "requested"), return_id, score),
        ]

    def _return_moved(self, event: Return.Event, status: str) -> list[Change]:
        row = self._row("return", event.originator_id)
        if row is None:
            return []
        old, row["status"] = row["status"], status
        return_id = row["return_id"]
        return [
            self._put("return", return_id, row, event),
            IndexRemove(index_of("return", old), return_id),
            IndexAdd(index_of("return", status), return_id, row["score"]),
        ]

    @evolve.register
    def _return_approved(self, event: Return.Approved) -> list[Change]:
        return self._return_moved(event, "approved")

    @evolve.register
    def _return_rejected(self, event: Return.Rejected) -> list[Change]:
        return self._return_moved(event, "rejected")

    @evolve.register
    def _return_received(self, event: Return.Received) -> list[Change]:
        return self._return_moved(event, "received")

    @evolve.register
    def _return_refunded(self, event: Return.Refunded) -> list[Change]:
        return self._return_moved(event, "refunded")

    # promotions ----------------------------------------------------------------------
    @evolve.register
    def _promotion_created(self, event: Promotion.Created) -> list[Change]:
        row = {
            "code": event.code,
            "description": event.description,
            "kind": event.kind,
            "value": str(event.value),
            "min_subtotal": event.min_subtotal.to_dict(),
            "valid_from": event.valid_from.isoformat(),
            "valid_until": event.valid_until.isoformat(),
            "max_uses": event.max_uses,
            "max_uses_per_customer": event.max_uses_per_customer,
            "categories": list(event.categories),
            "uses": 0,
            "active": True,
            "created_at": _at(event),
        }
        return [
            self._put("promotion", event.code, row, event),
            Put(row_key("promotion-id", event.originator_id), {"code": event.code}),
            IndexAdd(index_of("promotion"), event.code, _score(event)),
        ]

    def _promotion(self, event: Promotion.Event, **fields: Any) -> list[Change]:
        ref = self._row("promotion-id", event.originator_id)
        row = self._row("promotion", ref["code"]) if ref else None
        if row is None:
            return []
        uses = int(fields.pop("uses_delta", 0))
        row["uses"] = max(0, row["uses"] + uses)
        row.update(fields)
        return [self._put("promotion", row["code"], row, event)]

    @evolve.register
    def _use_held(self, event: Promotion.UseHeld) -> list[Change]:
        return self._promotion(event, uses_delta=1)

    @evolve.register
    def _use_given_back(self, event: Promotion.UseGivenBack) -> list[Change]:
        return self._promotion(event, uses_delta=-1)

    @evolve.register
    def _deactivated(self, event: Promotion.Deactivated) -> list[Change]:
        return self._promotion(event, active=False)

    # payments ------------------------------------------------------------------------
    @evolve.register
    def _payment_requested(self, event: Payment.Requested) -> list[Change]:
        row = {
            "payment_id": str(event.originator_id),
            "order_id": str(event.order_id),
            "customer_id": event.customer_id,
            "method": getattr(event, "method", "card"),
            "amount": event.amount.to_dict(),
            "status": "requested",
            "gateway": None,
            "expires_at": None,
            "flagged": 0,
            "created_at": _at(event),
            "score": _score(event),
        }
        return [self._put("payment", event.originator_id, row, event)]

    def _payment(
        self, event: Payment.Event, queues: dict[str, bool] | None = None, **fields: Any
    ) -> list[Change]:
        row = self._row("payment", event.originator_id)
        if row is None:
            return []
        row.update(fields)
        changes: list[Change] = [self._put("payment", event.originator_id, row, event)]
        for queue, member in (queues or {}).items():
            pid = row["payment_id"]
            changes.append(
                IndexAdd(queue, pid, row["score"]) if member else IndexRemove(queue, pid)
            )
        return changes

    @evolve.register
    def _charge_issued(self, event: Payment.ChargeIssued) -> list[Change]:
        return self._payment(
            event,
            {QUEUE_AWAITING: True},
            status="issued",
            gateway=event.gateway,
            expires_at=event.expires_at.isoformat(),
        )

    @evolve.register
    def _paid(self, event: Payment.Paid) -> list[Change]:
        return self._payment(event, {QUEUE_AWAITING: False}, status="captured")

    @evolve.register
    def _expired(self, event: Payment.Expired) -> list[Change]:
        return self._payment(event, {QUEUE_AWAITING: False}, status="expired")

    @evolve.register
    def _voided(self, event: Payment.Voided) -> list[Change]:
        return self._payment(event, {QUEUE_AWAITING: False}, status="voided")

    @evolve.register
    def _flagged(self, event: Payment.AmountMismatchFlagged) -> list[Change]:
        row = self._row("payment", event.originator_id) or {}
        flagged = int(row.get("flagged", 0)) + 1
        return self._payment(event, {QUEUE_FLAGGED: True}, flagged=flagged)

    @evolve.register
    def _authorized(self, event: Payment.Authorized) -> list[Change]:
        return self._payment(event, status="authorized", gateway=event.gateway)

    @evolve.register
    def _declined(self, event: Payment.Declined) -> list[Change]:
        return self._payment(event, status="declined", gateway=event.gateway)

    @evolve.register
    def _captured(self, event: Payment.Captured) -> list[Change]:
        return self._payment(event, status="captured")

    @evolve.register
    def _refunded(self, event: Payment.Refunded) -> list[Change]:
        return self._payment(event, status="refunded")

    # webhook deliveries ---------------------------------------------------------------
    @evolve.register
    def _webhook(self, event: WebhookDelivery.Received) -> list[Change]:
        ident = str(event.originator_id)
        row = {
            "delivery_id": ident,
            "provider": event.provider,
            "event_id": event.event_id,
            "status": event.status,
            "charge_id": event.charge_id,
            "payment_id": str(event.payment_id) if event.payment_id else None,
            "amount": event.amount.to_dict() if event.amount else None,
            "outcome": event.outcome,
            "received_at": _at(event),
        }
        changes: list[Change] = [
            self._put("webhook", ident, row, event),
            IndexAdd(index_of("webhook"), ident, _score(event)),
        ]
        if event.outcome != "applied":
            changes.append(IndexAdd(WEBHOOKS_NOT_APPLIED, ident, _score(event)))
        return changes

    # customers -----------------------------------------------------------------------
    @evolve.register
    def _customer_registered(self, event: Customer.Registered) -> list[Change]:
        row = {
            "customer_id": event.customer_id,
            "registered_at": _at(event),
            "erased": False,
            "consents": {},
        }
        return [
            self._put("customer", event.customer_id, row, event),
            Put(row_key("customer-id", event.originator_id), {"customer_id": event.customer_id}),
            IndexAdd(index_of("customer"), event.customer_id, _score(event)),
        ]

    def _customer(self, event: Customer.Event, **fields: Any) -> list[Change]:
        ref = self._row("customer-id", event.originator_id)
        row = self._row("customer", ref["customer_id"]) if ref else None
        if row is None:
            return []
        consents = fields.pop("consent", None)
        if consents:
            row["consents"] = {**row["consents"], **consents}
        row.update(fields)
        return [self._put("customer", row["customer_id"], row, event)]

    @evolve.register
    def _granted(self, event: Customer.ConsentGranted) -> list[Change]:
        return self._customer(event, consent={event.purpose: True})

    @evolve.register
    def _withdrawn(self, event: Customer.ConsentWithdrawn) -> list[Change]:
        return self._customer(event, consent={event.purpose: False})

    @evolve.register
    def _forgotten(self, event: Customer.Forgotten) -> list[Change]:
        return self._customer(event, erased=True, consents={})


def sum_refunds(lines: list[Any]) -> dict[str, str]:
    total = sum((ln.refund for ln in lines[1:]), lines[0].refund) if lines else None
    return total.to_dict() if total is not None else {"amount": "0.00", "currency": "BRL"}
