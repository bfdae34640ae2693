"""The carrier port: quotes across carriers, a label for a parcel, and the parcel's steps.

A label is bought in two calls (`open_label`, then `complete_label`) so the application can
record the carrier's id of it before any money moves: a crash in between resumes with that
id and never buys twice.

Adapters (infrastructure/gateways/carriers/) follow one provider's documented API; the shop's own
rates table stays the embedded default and the fallback when no carrier is configured or
the carrier does not answer. A label's recipient address goes to the carrier, which needs
it to deliver; we keep only the label's id, tracking code and link.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from domain.delivery import DeliveryStep
from domain.money import Money


class CarrierError(Exception):
    """The carrier refused or could not be reached; `retryable` when trying again may help."""

    def __init__(self, message: str, retryable: bool = False):
        super().__init__(message)
        self.retryable = retryable


class CarrierSignatureError(Exception):
    """A webhook whose signature does not verify: 401, nothing applied."""


class UnreadableCarrierWebhookError(Exception):
    """A signed webhook that is not the documented shape: 422, nothing applied."""


@dataclass(frozen=True)
class Parcel:
    from_postal_code: str
    to_postal_code: str
    weight_grams: int
    declared_value: Money


@dataclass(frozen=True)
class Recipient:
    """Who receives the parcel (personal data: sent to the carrier, never stored here)."""

    name: str
    line1: str
    line2: str
    city: str
    state: str
    postal_code: str


@dataclass(frozen=True)
class ReturnSender:
    """The shopper sending a return back: how the carrier reaches them (personal data: sent
    to the carrier, never stored here)."""

    email: str
    phone: str


@dataclass(frozen=True)
class CarrierQuote:
    service_id: str  # the provider's id of the carrier's service
    carrier: str  # e.g. "Correios"
    service: str  # e.g. "SEDEX"
    price: Money
    days: int


@dataclass(frozen=True)
class OpenedLabel:
    """A label in the carrier's cart, not paid yet."""

    label_id: str
    carrier: str  # e.g. "Correios"
    service: str  # e.g. "SEDEX"


@dataclass(frozen=True)
class Label:
    """A label paid and made: what the parcel travels under."""

    label_id: str
    tracking_code: str
    label_url: str  # a PDF with the addresses: handed on, never stored


@dataclass(frozen=True)
class TrackingReport:
    """One step of a parcel, as the carrier said it: `order_ref` is our order id, which
    the label carries (as a tag) so a report finds its order without a look-up table."""

    label_id: str
    order_ref: str
    step: DeliveryStep
    at: datetime


class Carrier(Protocol):
    name: str

    def quote(self, parcel: Parcel) -> list[CarrierQuote]: ...

    def open_label(
        self, order_ref: str, service_id: str, parcel: Parcel, recipient: Recipient
    ) -> OpenedLabel:
        """The label in the carrier's cart, nothing paid yet."""
        ...

    def open_return_label(
        self,
        order_ref: str,
        original_label_id: str,
        service_id: str,
        parcel: Parcel,
        sender: ReturnSender,
    ) -> OpenedLabel:
        """A reverse-logistics label back to the shop, paid by the shop, in the cart."""
        ...

    def complete_label(self, label_id: str) -> Label:
        """Pay the label if it is not paid yet (a repeat never pays twice), and make it."""
        ...

    def track(self, label_id: str, order_ref: str) -> TrackingReport | None: ...

    def read_webhook(self, headers: Mapping[str, str], body: bytes) -> TrackingReport | None:
        """The report a signed webhook carries (None: an event that is not a step of the
        parcel); raises `CarrierSignatureError` or `UnreadableCarrierWebhookError`."""
        ...
