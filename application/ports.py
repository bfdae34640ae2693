"""Ports to the outside world: payment gateways and notifiers.

Adapters live in `infrastructure/`; the sandbox gateway behaves like a real one.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from domain.money import Money


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
class Authorization:
    approved: bool
    authorization_id: str = ""
    decline_reason: str = ""


class PaymentGateway(Protocol):
    """A card acquirer. Every money-moving call is idempotent by `key`: the same key gives
    the same answer and never moves money twice."""

    name: str

    def tokenize(self, number: str, expiry: str, cvc: str, holder: str) -> CardToken: ...

    def authorize(self, token: str, amount: Money, key: str) -> Authorization: ...

    def capture(self, authorization_id: str, amount: Money, key: str) -> None: ...

    def void(self, authorization_id: str, key: str) -> None: ...

    def refund(self, authorization_id: str, amount: Money, key: str) -> None: ...


@dataclass(frozen=True)
class Notification:
    kind: str  # order_confirmed | order_cancelled | order_shipped
    order_id: str
    customer_id: str
    detail: str
    key: str  # idempotency key, passed on to the receiver (Message-ID, webhook header)


class Notifier(Protocol):
    def send(self, notification: Notification) -> None: ...
