"""Ports to the outside world: payment gateways and notifiers.

Adapters live in `infrastructure/`; the sandbox gateway behaves like a real one.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from domain.money import InvalidMoneyError, Money


class GatewayError(Exception):
    """The gateway gave no answer. A processing error (`retryable=False`) moves the payment
    to the next gateway of the chain at once; a timeout or a garbled answer
    (`retryable=True`) is retried on the same gateway first."""

    def __init__(self, message: str, *, retryable: bool = False):
        super().__init__(message)
        self.retryable = retryable


@dataclass(frozen=True)
class CardToken:
    """All that is ever kept of a card: the gateway's token, the brand and the last four."""

    token: str
    brand: str
    last4: str


@dataclass(frozen=True)
class CustomerAction:
    """What the shopper must still do for a card payment (3-D Secure): the front end
    finishes it with the provider's SDK (`client_secret`) or by sending the shopper to
    `redirect_url`."""

    client_secret: str = ""
    redirect_url: str = ""


@dataclass(frozen=True)
class Authorization:
    approved: bool
    authorization_id: str = ""
    decline_reason: str = ""
    # Neither approved nor declined yet: the shopper must authenticate (3-D Secure).
    action: CustomerAction | None = None


class UnusableCardTokenError(Exception):
    """A card token the provider does not know, made for another provider, expired or
    already used: the checkout is refused (422), nothing changes."""


class InvalidWebhookError(Exception):
    """A webhook whose signature is missing, wrong or stale: refused (401), nothing changes."""


class MalformedWebhookError(Exception):
    """A correctly signed webhook whose content is not what the provider documents (422)."""


# What reading a signed but odd notification (or the provider's answer about it) can raise:
# an adapter turns any of these into MalformedWebhookError (422), never a 500.
UNREADABLE: tuple[type[Exception], ...] = (
    ValueError,
    KeyError,
    TypeError,
    AttributeError,
    IndexError,
    ArithmeticError,
    InvalidMoneyError,
)


@dataclass(frozen=True)
class Payer:
    """Who pays a Pix or a boleto: what the provider requires (a boleto needs the CPF)."""

    reference: str  # our customer id, never sent where a name would do
    cpf: str = ""


@dataclass(frozen=True)
class Charge:
    """A Pix or boleto charge issued by a provider: what the payer needs to pay it."""

    charge_id: str
    expires_at: datetime
    pix_copy_paste: str = ""
    boleto_line: str = ""


@dataclass(frozen=True)
class DisputeNote:
    """A provider's word on a dispute (chargeback): `status` is opened | evidence_due | won |
    lost; `evidence_due_by` the deadline to answer it, when the provider gives one."""

    dispute_id: str
    status: str
    amount: Money
    reason: str = ""
    evidence_due_by: datetime | None = None


@dataclass(frozen=True)
class GatewayNotification:
    """A provider's webhook, verified and read: which charge, what happened, how much.

    `reference` is our payment id when the provider echoes it, else empty; `charge_id` is the
    provider's own id. `status` is one of paid | expired | failed | refunded | other."""

    provider: str
    event_id: str
    status: str
    charge_id: str = ""
    reference: str = ""
    amount: Money | None = None
    # The provider's id of the payment reported, when several notifications may report one
    # payment (Mercado Pago's per change of its payment); by default each event is one.
    settlement: str = field(default="", kw_only=True)
    # a dispute about the payment `charge_id` names
    dispute: DisputeNote | None = field(default=None, kw_only=True)

    @property
    def settlement_key(self) -> str:
        """Which payment of the payer this is: two notifications with one key are one payment
        told twice, two keys are two payments (a boleto paid twice)."""
        return f"{self.provider}:{self.settlement or self.event_id}"


class PaymentGateway(Protocol):
    """An acquirer or payment provider. Every money-moving call is idempotent by `key`: the
    same key gives the same answer and never moves money twice.

    `provider` names the webhook route (`/payments/webhooks/{provider}`); several gateways of
    a chain may share one provider (the three sandbox acquirers). `methods` lists what it
    takes: card, pix, boleto."""

    name: str
    provider: str
    methods: frozenset[str]

    def accept_token(self, token: str) -> CardToken:
        """A card token made in the shopper's browser by this provider's SDK, checked with
        the provider (UnusableCardTokenError if it is not a live token of this provider);
        the brand and last four as the provider knows them (empty where it tells none)."""
        ...

    def authentication_result(self, authorization_id: str) -> Authorization:
        """Where the shopper's authentication (3-D Secure) left an authorization: approved,
        declined, or still waiting (`action`)."""
        ...

    def public_config(self) -> dict[str, str]:
        """What a front end needs to tokenize for this provider: its public key and SDK."""
        ...

    def authorize(
        self, token: str, amount: Money, key: str, installments: int = 1
    ) -> Authorization: ...

    def issue(
        self, method: str, amount: Money, key: str, payer: Payer, expires_at: datetime
    ) -> Charge: ...

    def read_webhook(
        self, headers: Mapping[str, str], query: Mapping[str, str], body: bytes, now: datetime
    ) -> GatewayNotification: ...

    def capture(self, authorization_id: str, amount: Money, key: str) -> None: ...

    def void(self, authorization_id: str, key: str) -> None: ...

    def refund(self, authorization_id: str, amount: Money, key: str) -> None: ...


@dataclass(frozen=True)
class Notification:
    kind: str  # order_confirmed|_cancelled|_shipped|_tracking, payment_failed
    order_id: str
    customer_id: str
    detail: str
    key: str  # idempotency key, passed on to the receiver (Message-ID, webhook header)


class Notifier(Protocol):
    def send(self, notification: Notification) -> None: ...
