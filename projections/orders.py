"""Order and payment views: a document per order and per payment, and sorted indexes
(newest first) of all orders and of each customer's, overall and per status."""

from __future__ import annotations

from datetime import datetime
from functools import singledispatchmethod
from typing import Any

from domain.boleto import due_date
from domain.delivery import DeliveryStep
from domain.installments import InstallmentPlan
from domain.invoice import Invoice
from domain.money import Money
from domain.order import Order, OrderStatus
from domain.payment import Payment
from domain.personal import SEALED_WORDS, DataSubject, PersonalData, WordsSealer, words_of
from domain.returns import REFUND_REASON_PREFIX, Return
from projections.base import (
    Change,
    Compact,
    Delete,
    DocumentProjection,
    IndexAdd,
    IndexRemove,
    Put,
)

ERASED = {"erased": True}


def order_key(order_id: object) -> str:
    return f"order:{order_id}"


def payment_key(payment_id: object) -> str:
    return f"payment:{payment_id}"


OPEN_DISPUTES = "disputes:open"  # sorted by evidence deadline (soonest first for readers)
NO_DEADLINE = 4102444800.0  # 2100-01-01: an open dispute whose deadline is not known yet


def dispute_key(payment_id: object, dispute_id: str) -> str:
    return f"dispute:{payment_id}:{dispute_id}"


def return_key(return_id: object) -> str:
    return f"return:{return_id}"


def invoice_key(invoice_id: object) -> str:
    return f"invoice:{invoice_id}"


def words_key(customer_id: str) -> str:
    """Which documents hold the customer's own words (decrypted copies to erase)."""
    return f"words:{customer_id}"


def order_index(customer_id: str | None = None, status: str | None = None) -> str:
    key = "orders" if customer_id is None else f"orders:customer:{customer_id}"
    return key if status is None else f"{key}:status:{status}"


DISPUTE_SUMMARY = ("dispute_id", "status", "amount", "reason", "evidence_due_by")
RETURN_SUMMARY = ("return_id", "status", "lines", "refund")  # what the order shows of a return
SUMMARY = (
    *("payment_id", "status", "brand", "last4", "method", "installments", "pix", "boleto"),
    "authentication",
)


def _summary(payment: dict[str, Any]) -> dict[str, Any]:
    """What the order shows of its payment."""
    return {k: payment.get(k) for k in SUMMARY}


def _step(event: Any) -> dict[str, str]:
    kind = type(event).__qualname__  # e.g. "Order.Placed", "Payment.Authorized"
    return {"type": kind, "at": event.timestamp.isoformat()}


class OrdersProjection(DocumentProjection):
    name = "orders"
    announced = ("order:",)  # a client may wait for its order's decision
    sealer: WordsSealer | None = None  # set by the wiring (infrastructure/followers)

    def _order_changes(self, doc: dict[str, Any], event: Any, **fields: Any) -> list[Change]:
        old_status = doc["status"]
        doc.update(fields)
        doc["history"] = [*doc["history"], _step(event)]
        changes: list[Change] = [Put(order_key(doc["order_id"]), doc)]
        if doc["status"] != old_status:
            for customer in (None, doc["customer_id"]):
                changes.append(IndexRemove(order_index(customer, old_status), doc["order_id"]))
                changes.append(
                    IndexAdd(order_index(customer, doc["status"]), doc["order_id"], doc["score"])
                )
        return changes

    def _on_order(self, event: Order.Event, **fields: Any) -> list[Change]:
        doc = self.view.get(order_key(event.originator_id))
        if doc is None:
            return []
        return self._order_changes(doc, event, version=event.originator_version, **fields)

    def _on_payment(
        self, event: Payment.Event, order_fields: dict[str, Any] | None = None, **fields: Any
    ) -> list[Change]:
        payment = self.view.get(payment_key(event.originator_id))
        if payment is None:
            return []
        payment.update(fields)
        changes: list[Change] = [Put(payment_key(event.originator_id), payment)]
        order = self.view.get(order_key(payment["order_id"]))
        if order is not None:
            # The order shows its current attempt's payment; an earlier one's steps (money
            # taken late and given back) are in its history and its refunds.
            current = order.get("payment_id") in (None, payment["payment_id"])
            summary = {"payment": _summary(payment)} if current else {}
            changes += self._order_changes(order, event, **summary, **(order_fields or {}))
        return changes

    @singledispatchmethod
    def evolve(self, domain_event: Any) -> list[Change]:
        return []

    @evolve.register
    def _placed(self, event: Order.Placed) -> list[Change]:
        order_id = str(event.originator_id)
        lines = [
            {
                "sku": ln.sku,
                "name": ln.name,
                "quantity": ln.quantity,
                "unit_price": ln.unit_price.to_dict(),
                "line_total": ln.gross.to_dict(),
                "discount": ln.discount.to_dict(),
                "net_total": ln.net.to_dict(),
                "carbon_footprint_kg": str(ln.carbon_footprint_kg),
                "weight_grams": ln.weight_grams,
            }
            for ln in event.lines
        ]
        score = event.timestamp.timestamp()
        doc = {
            "order_id": order_id,
            "customer_id": event.customer_id,
            "status": OrderStatus.PENDING.value,
            "lines": lines,
            "coupon": event.coupon,
            "shipping_method": event.shipping_method,
            "totals": {
                k: getattr(event, k).to_dict()
                for k in ("subtotal", "discount", "shipping", "total")
            },
            "carbon_footprint_kg": str(event.carbon_footprint_kg),
            "payment": None,
            "payment_id": None,
            "cancellation_reason": None,
            "cancellation_detail": None,
            "carrier": None,
            "tracking_code": None,
            "delivered_at": None,
            "tracking": [],
            "invoices": [],
            "decline_reason": None,
            "payment_retry": None,
            "returns": [],
            "refunded_total": Money.zero().to_dict(),
            "history": [_step(event)],
            "created_at": event.timestamp.isoformat(),
            "score": score,
            "version": event.originator_version,
        }
        changes: list[Change] = [Put(order_key(order_id), doc)]
        return changes + [
            IndexAdd(order_index(customer, status), order_id, score)
            for customer in (None, event.customer_id)
            for status in (None, OrderStatus.PENDING.value)
        ]

    @evolve.register
    def _stock_reserved(self, event: Order.StockReserved) -> list[Change]:
        return self._on_order(event)

    @evolve.register
    def _confirmed(self, event: Order.Confirmed) -> list[Change]:
        return self._on_order(
            event, status=OrderStatus.CONFIRMED.value, payment_id=str(event.payment_id)
        )

    @evolve.register
    def _shipped(self, event: Order.Shipped) -> list[Change]:
        return self._on_order(
            event,
            status=OrderStatus.SHIPPED.value,
            carrier=event.carrier,
            tracking_code=event.tracking_code,
        )

    @evolve.register
    def _tracking_updated(self, event: Order.TrackingUpdated) -> list[Change]:
        doc = self.view.get(order_key(event.originator_id))
        if doc is None:
            return []
        step = {"step": event.step, "at": event.at.isoformat()}
        fields: dict[str, Any] = {"tracking": [*doc.get("tracking", []), step]}
        if event.step == DeliveryStep.DELIVERED:
            fields["delivered_at"] = event.at.isoformat()
            if doc["status"] == OrderStatus.SHIPPED.value:
                fields["status"] = OrderStatus.DELIVERED.value
        return self._order_changes(doc, event, version=event.originator_version, **fields)

    @evolve.register
    def _cancelled(self, event: Order.Cancelled) -> list[Change]:
        changes = self._on_order(
            event,
            status=OrderStatus.CANCELLED.value,
            cancellation_reason=event.reason,
            cancellation_detail=self._words(event.detail),
        )
        if changes and event.detail is not None:
            order = self.view.get(order_key(event.originator_id)) or {}
            changes += self._holds_words(order["customer_id"], order_key(event.originator_id))
        return changes

    @evolve.register
    def _requested(self, event: Payment.Requested) -> list[Change]:
        method = getattr(event, "method", "card")  # events stored before Pix and boleto
        count = getattr(event, "installments", 1)
        payment = {
            "payment_id": str(event.originator_id),
            "order_id": str(event.order_id),
            "customer_id": event.customer_id,
            "status": "requested",
            "amount": event.amount.to_dict(),
            "brand": event.brand,
            "last4": event.last4,
            "gateway": None,
            "method": method,
            "installments": (
                InstallmentPlan(count, event.amount).to_dict() if method == "card" else None
            ),
            "pix": None,
            "boleto": None,
            "flagged": 0,
            "version": event.originator_version,
        }
        changes: list[Change] = [Put(payment_key(event.originator_id), payment)]
        order = self.view.get(order_key(event.order_id))
        if order is not None:
            changes += self._order_changes(
                order, event, payment=_summary(payment), payment_id=str(event.originator_id)
            )
        return changes

    @evolve.register
    def _awaiting_payment(self, event: Order.AwaitingPayment) -> list[Change]:
        return self._on_order(
            event,
            status=OrderStatus.AWAITING_PAYMENT.value,
            payment_id=str(event.payment_id),
        )

    @evolve.register
    def _payment_failed(self, event: Order.PaymentFailed) -> list[Change]:
        retry = {
            "attempt": event.attempt,
            "failure": event.reason,
            "retry_until": event.retry_until.isoformat(),
        }
        return self._on_order(event, status=OrderStatus.AWAITING_PAYMENT.value, payment_retry=retry)

    @evolve.register
    def _payment_retried(self, event: Order.PaymentRetried) -> list[Change]:
        doc = self.view.get(order_key(event.originator_id)) or {}
        retry = {**(doc.get("payment_retry") or {}), "attempt": event.attempt, "failure": None}
        return self._on_order(
            event,
            status=OrderStatus.PENDING.value,
            payment_id=str(event.payment_id),
            payment_retry=retry,
        )

    @evolve.register
    def _awaiting_authentication(self, event: Order.AwaitingAuthentication) -> list[Change]:
        return self._on_order(
            event,
            status=OrderStatus.AWAITING_AUTHENTICATION.value,
            payment_id=str(event.payment_id),
        )

    @evolve.register
    def _action_required(self, event: Payment.ActionRequired) -> list[Change]:
        """3-D Secure: what the front end finishes it with, until decided or expired."""
        return self._on_payment(
            event,
            status="awaiting_action",
            gateway=event.gateway,
            # Only the deadline: the client secret is read from the provider on request
            # (GET /payments/{id}/authentication), never kept in a read model.
            authentication={"expires_at": event.expires_at.isoformat()},
            version=event.originator_version,
        )

    @evolve.register
    def _charge_issued(self, event: Payment.ChargeIssued) -> list[Change]:
        expires = event.expires_at.isoformat()
        due = due_date(event.expires_at).isoformat()
        return self._on_payment(
            event,
            status="issued",
            gateway=event.gateway,
            pix={"copy_paste": event.pix_copy_paste, "expires_at": expires}
            if event.pix_copy_paste
            else None,
            boleto={"digitable_line": event.boleto_line, "due_date": due}
            if event.boleto_line
            else None,
            version=event.originator_version,
        )

    @evolve.register
    def _paid_or_expired(self, event: Payment.Paid | Payment.Expired) -> list[Change]:
        status = "captured" if isinstance(event, Payment.Paid) else "expired"
        return self._on_payment(
            event, status=status, authentication=None, version=event.originator_version
        )

    @evolve.register
    def _flagged(self, event: Payment.AmountMismatchFlagged) -> list[Change]:
        payment = self.view.get(payment_key(event.originator_id)) or {}
        return self._on_payment(
            event, flagged=int(payment.get("flagged", 0)) + 1, version=event.originator_version
        )

    @evolve.register
    def _paid_again(self, event: Payment.ExtraPaymentReceived) -> list[Change]:
        """Flagged for an admin; what came in again is shown until it is given back."""
        payment = self.view.get(payment_key(event.originator_id)) or {}
        extra = Money.from_dict(payment.get("extra_received") or Money.zero().to_dict())
        return self._on_payment(
            event,
            flagged=int(payment.get("flagged", 0)) + 1,
            extra_received=(extra + event.amount).to_dict(),
            version=event.originator_version,
        )

    @evolve.register
    def _unwanted(self, event: Payment.UnwantedPaymentFlagged) -> list[Change]:
        payment = self.view.get(payment_key(event.originator_id)) or {}
        return self._on_payment(
            event, flagged=int(payment.get("flagged", 0)) + 1, version=event.originator_version
        )

    @evolve.register
    def _extra_refunded(self, event: Payment.ExtraPaymentRefunded) -> list[Change]:
        payment = self.view.get(payment_key(event.originator_id)) or {}
        back = Money.from_dict(payment.get("extra_refunded") or Money.zero().to_dict())
        return self._on_payment(
            event,
            extra_refunded=(back + event.amount).to_dict(),
            version=event.originator_version,
        )

    @evolve.register
    def _failed_over(self, event: Payment.GatewayFailed) -> list[Change]:
        return self._on_payment(event, version=event.originator_version)

    @evolve.register
    def _authorized(self, event: Payment.Authorized) -> list[Change]:
        return self._on_payment(
            event,
            status="authorized",
            gateway=event.gateway,
            authentication=None,
            version=event.originator_version,
        )

    @evolve.register
    def _declined(self, event: Payment.Declined) -> list[Change]:
        return self._on_payment(
            event,
            {"decline_reason": event.reason},
            status="declined",
            gateway=event.gateway,
            authentication=None,
            version=event.originator_version,
        )

    @evolve.register
    def _money_moved(self, event: Payment.Captured | Payment.Voided) -> list[Change]:
        fields: dict[str, Any] = {"version": event.originator_version}
        if isinstance(event, Payment.Captured):
            fields.update(status="captured", captured=event.amount.to_dict())
        else:
            fields.update(status="voided")
        return self._on_payment(event, **fields)

    @evolve.register
    def _refunded(self, event: Payment.Refunded) -> list[Change]:
        """A refund of part of the capture (a return) leaves the payment captured."""
        payment = self.view.get(payment_key(event.originator_id)) or {}
        zero = Money.zero().to_dict()
        refunded = Money.from_dict(payment.get("refunded") or zero) + event.amount
        captured = payment.get("captured")
        whole = captured is None or refunded >= Money.from_dict(captured)
        return self._on_payment(
            event,
            status="refunded" if whole else "captured",
            refunded=refunded.to_dict(),
            version=event.originator_version,
        )

    # Disputes --------------------------------------------------------------------------
    def _on_dispute(
        self, event: Payment.Event, dispute_id: str, refund: Money | None = None, **fields: Any
    ) -> list[Change]:
        """The dispute's own document (the admin list) and its summary on the payment and
        the order; a lost one is a refund in the books."""
        payment = self.view.get(payment_key(event.originator_id))
        if payment is None:
            return []
        key = dispute_key(event.originator_id, dispute_id)
        dispute = self.view.get(key) or {
            "dispute_id": dispute_id,
            "payment_id": str(event.originator_id),
            "order_id": payment["order_id"],
            "customer_id": payment.get("customer_id"),
        }
        dispute.update(fields)
        member = f"{event.originator_id}:{dispute_id}"
        changes: list[Change] = [Put(key, dispute)]
        if dispute["status"] == "open":
            due = dispute.get("evidence_due_by")
            score = datetime.fromisoformat(due).timestamp() if due else NO_DEADLINE
            changes.append(IndexAdd(OPEN_DISPUTES, member, -score))  # highest first = soonest
        else:
            changes.append(IndexRemove(OPEN_DISPUTES, member))
        summary = [d for d in payment.get("disputes") or [] if d["dispute_id"] != dispute_id]
        summary.append({k: dispute.get(k) for k in DISPUTE_SUMMARY})
        payment_fields: dict[str, Any] = {"disputes": summary, "version": event.originator_version}
        order_fields: dict[str, Any] = {"disputes": summary}
        if refund is not None:
            zero = Money.zero().to_dict()
            refunded = Money.from_dict(payment.get("refunded") or zero) + refund
            captured = payment.get("captured")
            whole = captured is None or refunded >= Money.from_dict(captured)
            payment_fields |= {"refunded": refunded.to_dict()}
            payment_fields |= {"status": "refunded"} if whole else {}
            order = self.view.get(order_key(payment["order_id"])) or {}
            total = Money.from_dict(order.get("refunded_total") or zero) + refund
            order_fields["refunded_total"] = total.to_dict()
        return changes + self._on_payment(event, order_fields, **payment_fields)

    @evolve.register
    def _dispute_opened(self, event: Payment.DisputeOpened) -> list[Change]:
        due = event.evidence_due_by.isoformat() if event.evidence_due_by else None
        return self._on_dispute(
            event,
            event.dispute_id,
            status="open",
            amount=event.amount.to_dict(),
            reason=event.reason,
            evidence_due_by=due,
            opened_at=event.timestamp.isoformat(),
        )

    @evolve.register
    def _dispute_evidence_due(self, event: Payment.DisputeEvidenceDue) -> list[Change]:
        due = event.evidence_due_by.isoformat()
        return self._on_dispute(event, event.dispute_id, evidence_due_by=due)

    @evolve.register
    def _dispute_won(self, event: Payment.DisputeWon) -> list[Change]:
        return self._on_dispute(event, event.dispute_id, status="won")

    @evolve.register
    def _dispute_lost(self, event: Payment.DisputeLost) -> list[Change]:
        return self._on_dispute(
            event, event.dispute_id, event.amount, status="lost", lost=event.amount.to_dict()
        )

    @evolve.register
    def _money_requested(
        self, event: Payment.CaptureRequested | Payment.VoidRequested
    ) -> list[Change]:
        return self._on_payment(event, version=event.originator_version)

    @evolve.register
    def _refund_requested(self, event: Payment.RefundRequested) -> list[Change]:
        """A refund for any reason but a return (those count when the parcel is received,
        by `Order.ItemsReturned`) adds to the order's `refunded_total` when asked for, as a
        return's does: a cancelled paid order shows what goes back."""
        if event.reason.startswith(REFUND_REASON_PREFIX):
            return self._on_payment(event, version=event.originator_version)
        payment = self.view.get(payment_key(event.originator_id)) or {}
        order = self.view.get(order_key(payment.get("order_id"))) or {}
        total = order.get("refunded_total") or Money.zero().to_dict()
        refunded = (Money.from_dict(total) + event.amount).to_dict()
        return self._on_payment(
            event, {"refunded_total": refunded}, version=event.originator_version
        )

    # Returns ------------------------------------------------------------------------------
    @evolve.register
    def _return_requested(self, event: Return.Requested) -> list[Change]:
        doc = {
            "return_id": str(event.originator_id),
            "order_id": str(event.order_id),
            "customer_id": event.customer_id,
            "status": "requested",
            "lines": [
                {"sku": ln.sku, "quantity": ln.quantity, "refund": ln.refund.to_dict()}
                for ln in event.lines
            ],
            "kind": event.kind,
            "shipping_refund": event.shipping_refund.to_dict(),
            "refund": sum((ln.refund for ln in event.lines), event.shipping_refund).to_dict(),
            "reason": self._words(event.reason) or "",
            "rejection_reason": None,
            "version": event.originator_version,
        }
        changes = self._put_return(doc, event)
        if event.reason is not None:
            changes += self._holds_words(event.customer_id, return_key(event.originator_id))
        return changes

    def _on_return(self, event: Return.Event, **fields: Any) -> list[Change]:
        doc = self.view.get(return_key(event.originator_id))
        if doc is None:
            return []
        doc.update(fields, version=event.originator_version)
        return self._put_return(doc, event)

    def _put_return(
        self, doc: dict[str, Any], event: Return.Requested | Return.Event
    ) -> list[Change]:
        """The return's document, and its summary on its order (last, in place of the one the
        order showed before)."""
        changes: list[Change] = [Put(return_key(doc["return_id"]), doc)]
        order = self.view.get(order_key(doc["order_id"]))
        if order is not None:
            summary = {k: doc[k] for k in RETURN_SUMMARY}
            others = [r for r in order["returns"] if r["return_id"] != doc["return_id"]]
            changes += self._order_changes(order, event, returns=[*others, summary])
        return changes

    @evolve.register
    def _return_approved(self, event: Return.Approved) -> list[Change]:
        return self._on_return(event, status="approved")

    @evolve.register
    def _return_rejected(self, event: Return.Rejected) -> list[Change]:
        changes = self._on_return(
            event, status="rejected", rejection_reason=self._words(event.reason)
        )
        request = self.view.get(return_key(event.originator_id))
        if changes and request is not None and event.reason is not None:
            changes += self._holds_words(request["customer_id"], return_key(event.originator_id))
        return changes

    @evolve.register
    def _return_label(self, event: Return.LabelBought) -> list[Change]:
        return self._on_return(event, return_tracking_code=event.tracking_code)

    @evolve.register
    def _return_received(self, event: Return.Received) -> list[Change]:
        return self._on_return(event, status="received")

    @evolve.register
    def _return_refunded(self, event: Return.Refunded) -> list[Change]:
        return self._on_return(event, status="refunded")

    @evolve.register
    def _items_returned(self, event: Order.ItemsReturned) -> list[Change]:
        doc = self.view.get(order_key(event.originator_id))
        if doc is None:
            return []
        refunded = Money.from_dict(doc["refunded_total"]) + event.refund
        return self._order_changes(
            doc,
            event,
            status=event.status,
            refunded_total=refunded.to_dict(),
            version=event.originator_version,
        )

    @evolve.register
    def _return_opened(self, event: Order.ReturnOpened | Order.ReturnClosed) -> list[Change]:
        return self._on_order(event)

    # NF-e ----------------------------------------------------------------------------------
    @evolve.register
    def _invoice_requested(self, event: Invoice.Requested) -> list[Change]:
        invoice = {
            "invoice_id": str(event.originator_id),
            "order_id": str(event.order_id),
            "kind": event.kind,
            "return_id": None if event.return_id is None else str(event.return_id),
            "status": "requested",
            "access_key": None,
            "number": None,
            "danfe_url": None,
            "taxes": None,
            "failure": None,
            "cancel_refused": None,
        }
        return self._put_invoice(invoice, event)

    @evolve.register
    def _invoice_kept(self, event: Invoice.CancelWindowClosed) -> list[Change]:
        invoice = self.view.get(invoice_key(event.originator_id))
        if invoice is None:
            return []
        invoice["cancel_refused"] = event.reason
        return self._put_invoice(invoice, event)

    @evolve.register
    def _invoice_changed(
        self,
        event: Invoice.Issued | Invoice.IssueFailed | Invoice.CancelRequested | Invoice.Cancelled,
    ) -> list[Change]:
        invoice = self.view.get(invoice_key(event.originator_id))
        if invoice is None:
            return []
        if isinstance(event, Invoice.Issued):
            invoice.update(
                status="issued",
                access_key=event.access_key,
                number=event.number,
                danfe_url=event.danfe_url,
                taxes=event.taxes.to_dict(),
                failure=None,
            )
        elif isinstance(event, Invoice.IssueFailed):
            invoice["failure"] = event.reason
        else:
            invoice["status"] = (
                "cancelled" if isinstance(event, Invoice.Cancelled) else "cancel_requested"
            )
        return self._put_invoice(invoice, event)

    def _put_invoice(self, invoice: dict[str, Any], event: Any) -> list[Change]:
        """The NF-e's own document (the order's id for the next event), and its summary on
        the order, in place of the one shown before."""
        changes: list[Change] = [Put(invoice_key(invoice["invoice_id"]), invoice)]
        order = self.view.get(order_key(invoice["order_id"]))
        if order is not None:
            summary = {k: v for k, v in invoice.items() if k != "order_id"}
            others = [
                i for i in order.get("invoices", []) if i["invoice_id"] != summary["invoice_id"]
            ]
            changes += self._order_changes(order, event, invoices=[*others, summary])
        return changes

    # Erasure --------------------------------------------------------------------------------
    @evolve.register
    def _subject(self, event: DataSubject.Registered) -> list[Change]:
        return [Put(f"subject:{event.originator_id}", {"customer_id": event.customer_id})]

    @evolve.register
    def _erased(self, event: DataSubject.PersonalDataErased) -> list[Change]:
        """The customer's own words, copied here decrypted, go with their key: every
        order's cancellation detail and every return's reasons read as erased."""
        subject = self.view.get(f"subject:{event.originator_id}")
        if subject is None:
            return []
        held = self.view.get(words_key(subject["customer_id"]))
        if held is None:
            return []
        changes: list[Change] = [Delete(words_key(subject["customer_id"]))]
        for key in held["keys"]:
            doc = self.view.get(key)
            if doc is not None:
                for field in ("cancellation_detail", "reason", "rejection_reason"):
                    if doc.get(field):
                        doc[field] = ERASED
                changes.append(Put(key, doc))
        return [*changes, Compact()]  # and out of what Redis wrote to disk before

    def _words(self, data: PersonalData | None) -> Any:
        """Someone's words as this read model keeps them: sealed under their key when the
        wiring gives a sealer (always, outside tests of the projection alone)."""
        if data is None or data.value is None or self.sealer is None:
            return words_of(data)
        return {SEALED_WORDS: self.sealer.seal(data)}

    def _holds_words(self, customer_id: str, key: str) -> list[Change]:
        """Remember that `key` holds the customer's words, for an erasure to find."""
        held = self.view.get(words_key(customer_id)) or {"keys": []}
        if key in held["keys"]:
            return []
        return [Put(words_key(customer_id), {"keys": [*held["keys"], key]})]
