"""A provider's notification about a card payment awaiting its shopper (3-D Secure)."""

from __future__ import annotations

from application.ports import GatewayNotification
from domain.payment import Payment
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
