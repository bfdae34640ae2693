"""Providers' notifications about card payments: 3-D Secure outcomes and disputes."""

from __future__ import annotations

from application.ports import GatewayNotification
from domain.payment import CAPTURED, REFUNDED, Payment
from domain.webhook import APPLIED, IGNORED


def apply_authentication(payment: Payment, note: GatewayNotification) -> str:
    """A provider's notification about a payment awaiting its shopper: authorized or failed,
    and only about the very authorization the payment awaits."""
    assert payment.gateway is not None
    if note.charge_id != payment.authorization_id:
        return IGNORED  # signed, but about another authorization: not this payment's result
    if note.status == "authorized":
        payment.authorize(payment.gateway, note.charge_id, payment.amount)
        return APPLIED
    if note.status == "failed":
        payment.decline(payment.gateway, "authentication_failed")
        return APPLIED
    return IGNORED


def apply_dispute(payment: Payment, note: GatewayNotification) -> str:
    """A dispute about this payment's authorization: opened, evidence due, won or lost. Out
    of order is fine (a close first opens it), a repeat or a late word changes nothing."""
    dispute = note.dispute
    assert dispute is not None
    if note.charge_id != payment.authorization_id or payment.status not in (CAPTURED, REFUNDED):
        return IGNORED
    if dispute.amount > payment.captured:
        return IGNORED  # more than was ever taken: not about this payment
    if dispute.status == "opened":
        changed = payment.open_dispute(
            dispute.dispute_id, dispute.amount, dispute.reason, dispute.evidence_due_by
        )
    elif dispute.status == "evidence_due" and dispute.evidence_due_by is not None:
        payment.open_dispute(dispute.dispute_id, dispute.amount, dispute.reason, None)
        changed = payment.note_evidence_due(dispute.dispute_id, dispute.evidence_due_by)
    elif dispute.status in ("won", "lost"):
        changed = payment.close_dispute(dispute.dispute_id, dispute.status == "won", dispute.amount)
    else:
        changed = False
    return APPLIED if changed else IGNORED
