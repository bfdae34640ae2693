"""The providers' webhooks, for `POST /payments/webhooks/{provider}` (the payment service's
`receive_webhook`).

A webhook is verified by its provider's gateway (a bad signature changes nothing), recorded
once as a `WebhookDelivery` (a repeat finds it and changes nothing twice), and applied to
the payment in the same transaction.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from uuid import UUID

from application.authentication_notes import apply_authentication, apply_dispute
from application.errors import VersionConflictError
from application.event_store import EventStore
from application.gateways import gateway_named, provider_gateway
from application.ports import GatewayNotification, PaymentGateway
from domain.base import NotFoundError, now
from domain.money import Money
from domain.payment import AWAITING_ACTION, ISSUED, Payment, Receipt
from domain.webhook import (
    AMOUNT_MISMATCH,
    APPLIED,
    EXTRA_PAYMENT,
    IGNORED,
    UNKNOWN_PAYMENT,
    WebhookDelivery,
)


class UnknownWebhookProviderError(NotFoundError):
    """No configured gateway takes webhooks under that name."""


def receive(
    store: EventStore,
    gateways: Sequence[PaymentGateway],
    provider: str,
    headers: Mapping[str, str],
    query: Mapping[str, str],
    body: bytes,
) -> WebhookDelivery:
    """Verify, record once, apply. Raises InvalidWebhookError (nothing recorded) when the
    signature is bad. Returns the delivery as recorded (the first one, on a repeat)."""
    gateway = provider_gateway(gateways, provider)
    if gateway is None:
        raise UnknownWebhookProviderError(f"no payment provider {provider!r}")
    lowered = {k.lower(): v for k, v in headers.items()}
    note = gateway.read_webhook(lowered, query, body, now())
    delivery_id = WebhookDelivery.create_id(provider, note.event_id)
    recorded = store.load(WebhookDelivery, delivery_id)
    if recorded is not None:
        return recorded
    payment = _payment_for(store, note)
    if payment is None or not _tied(gateways, payment, note):
        outcome = UNKNOWN_PAYMENT  # recorded for an admin, applied to nothing
    else:
        outcome = _apply(payment, note)
    delivery = WebhookDelivery(
        provider=provider,
        event_id=note.event_id,
        status=note.status,
        charge_id=note.charge_id,
        payment_id=payment.id if payment is not None else None,
        amount=note.amount,
        outcome=outcome,
    )
    moved = (APPLIED, AMOUNT_MISMATCH, EXTRA_PAYMENT)
    changed = [payment] if payment is not None and outcome in moved else []
    try:
        store.commit(delivery, *changed)
    except VersionConflictError:
        # A concurrent copy of this delivery (or another change to the payment) won: the
        # first one recorded is the answer; a lost race on the payment is retried.
        recorded = store.load(WebhookDelivery, delivery_id)
        if recorded is None:
            raise
        return recorded
    return delivery


def _payment_for(store: EventStore, note: GatewayNotification) -> Payment | None:
    try:
        payment_id = UUID(note.reference)
    except ValueError:
        return None
    return store.load(Payment, payment_id)


def _tied(gateways: Sequence[PaymentGateway], payment: Payment, note: GatewayNotification) -> bool:
    """A notification may move a payment only when it comes from the provider of the
    gateway that issued the payment's charge and names that very charge: a signed
    notification of another provider (or another charge) echoing our reference is not
    about this payment."""
    if payment.gateway is None:
        return True  # no charge issued yet: `_apply` ignores whatever it says
    gateway = gateway_named(gateways, payment.gateway)
    if gateway is None or note.provider != getattr(gateway, "provider", gateway.name):
        return False
    return not payment.charge_id or note.charge_id == payment.charge_id


def _apply(payment: Payment, note: GatewayNotification) -> str:
    """The notification told to the payment; the payment decides what it means (paid, paid
    late, paid again, another amount; a chargeback; a 3-D Secure outcome) and the outcome
    is recorded on the delivery."""
    if note.dispute is not None:  # a chargeback (application/authentication_notes.py)
        return apply_dispute(payment, note)
    if payment.status == AWAITING_ACTION:  # a card's 3-D Secure outcome
        return apply_authentication(payment, note)
    if note.status == "paid":
        received = note.amount if note.amount is not None else Money.zero()
        return RECEIPT_OUTCOMES[payment.record_paid(received, note.settlement_key)]
    if note.status == "expired" and payment.status == ISSUED:
        payment.expire()
        return APPLIED
    return IGNORED


# What a delivery records, by what the payment made of the payment it reported.
RECEIPT_OUTCOMES = {
    Receipt.CAPTURED: APPLIED,
    Receipt.REFUNDING: APPLIED,
    Receipt.EXTRA: EXTRA_PAYMENT,
    Receipt.MISMATCH: AMOUNT_MISMATCH,
    Receipt.KNOWN: IGNORED,
    Receipt.NOT_PAYABLE: IGNORED,
}
