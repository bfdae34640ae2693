"""WebhookDelivery: one provider notification as we received it, once.

Its id is derived from the provider and the provider's event id, so a repeated delivery
finds the first one recorded and changes nothing twice. It holds what the notification
said (status, charge, amount) and what we did with it (`outcome`) — never the raw body,
which may carry the payer's name, e-mail or CPF.

Outcomes: applied (the payment moved), unknown_payment (no payment of ours, or one of ours
named by another provider or with another charge id: kept for an admin, applied to
nothing), amount_mismatch (flagged on the payment, not applied), extra_payment (the payer
paid a charge already paid: flagged on the payment and refunded), ignored (nothing to do:
a status we do not act on, or that very payment was recorded already).
"""

from __future__ import annotations

from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import event

from domain.base import EcoAggregate
from domain.money import Money

WEBHOOK_NAMESPACE = uuid5(NAMESPACE_URL, "https://ecovarejo.com.br/webhook")
APPLIED, UNKNOWN_PAYMENT = "applied", "unknown_payment"
AMOUNT_MISMATCH, IGNORED = "amount_mismatch", "ignored"
EXTRA_PAYMENT = "extra_payment"  # paid again once paid: flagged and refunded


class WebhookDelivery(EcoAggregate):
    class Received(EcoAggregate.Created):
        provider: str
        event_id: str
        status: str
        charge_id: str
        payment_id: UUID | None
        amount: Money | None
        outcome: str

    @staticmethod
    def create_id(provider: str, event_id: str) -> UUID:
        return uuid5(WEBHOOK_NAMESPACE, f"{provider}:{event_id}")

    @event(Received)
    def __init__(
        self,
        provider: str,
        event_id: str,
        status: str,
        charge_id: str,
        payment_id: UUID | None,
        amount: Money | None,
        outcome: str,
    ) -> None:
        self.provider = provider
        self.event_id = event_id
        self.status = status
        self.charge_id = charge_id
        self.payment_id = payment_id
        self.amount = amount
        self.outcome = outcome

    @property
    def key(self) -> str:
        return f"{self.provider}:{self.event_id}"
