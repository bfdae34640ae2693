"""Invoice: the NF-e (nota fiscal eletrônica, modelo 55) of a sale, and of a return.

An NF-e is asked of the fiscal provider when the order is confirmed (or shipped: a setting),
authorized by the SEFAZ through it, and identified by its 44-digit access key (chave de
acesso), whose last digit checks the others (módulo 11). An authorized NF-e of an order
cancelled before shipment is cancelled (the SEFAZ allows it within 24 hours of
authorization); past them the refusal is recorded (`CancelWindowClosed`) and an entry NF-e
(`reversal`) referring to the sale's undoes it. A received return gets its own NF-e of
return (finalidade 4, devolução), referring to the sale's. The order is never blocked on
any of this: an outage of the provider delays the document, never the sale.

Status: requested -> issued -> cancel_requested -> cancelled. A request the provider
refuses stays requested with the reason (`failure`) for an admin to act on.
"""

from __future__ import annotations

import re
from datetime import timedelta
from enum import StrEnum
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import event

from domain.base import DomainError, EcoAggregate, InvalidInputError
from domain.money import Money
from domain.text import outside_text

INVOICE_NAMESPACE = uuid5(NAMESPACE_URL, "https://ecovarejo.com.br/invoice")
CANCEL_WINDOW = timedelta(hours=24)  # SEFAZ: cancellation within 24 h of authorization


class InvoiceKind(StrEnum):
    SALE = "sale"
    RETURN = "return"
    # An entry NF-e undoing a sale NF-e the SEFAZ no longer cancels (past its 24 hours) of an
    # order cancelled before shipment: the goods never left, the document refers to the sale's.
    REVERSAL = "reversal"


class InvoiceStatus(StrEnum):
    REQUESTED = "requested"
    ISSUED = "issued"
    CANCEL_REQUESTED = "cancel_requested"
    CANCELLED = "cancelled"


class InvoiceError(DomainError):
    """Base of the errors an invoice raises."""


class InvalidAccessKeyError(InvoiceError, InvalidInputError):
    """Not 44 digits, or a check digit that does not check."""


class IllegalInvoiceTransitionError(InvoiceError):
    """The invoice's status does not allow this step."""


class InvalidNcmError(InvalidInputError):
    """An NCM that is not 8 digits of an existing chapter."""


ACCESS_KEY = re.compile(r"^\d{44}$")


def access_key_check_digit(first_43: str) -> int:
    """Módulo 11 over the first 43 digits, weights 2..9 from the right (Manual de Orientação
    do Contribuinte, NF-e): a remainder of 0 or 1 gives 0."""
    total = sum(int(d) * (2 + i % 8) for i, d in enumerate(reversed(first_43)))
    remainder = total % 11
    return 0 if remainder < 2 else 11 - remainder


def check_access_key(key: str) -> str:
    digits = key.removeprefix("NFe")
    if not ACCESS_KEY.match(digits):
        raise InvalidAccessKeyError(f"an NF-e access key is 44 digits, not {key!r}")
    if access_key_check_digit(digits[:43]) != int(digits[43]):
        raise InvalidAccessKeyError(f"access key {digits}: the check digit does not check")
    return digits


# Chapters of the Mercosur nomenclature (NCM/SH): 01-97, chapter 77 reserved (unused).
def check_ncm(ncm: str) -> str:
    digits = ncm.replace(".", "")
    if not re.fullmatch(r"\d{8}", digits) or not (1 <= int(digits[:2]) <= 97) or digits[:2] == "77":
        raise InvalidNcmError(f"NCM {ncm!r} does not exist: 8 digits of a chapter 01-97 (not 77)")
    return digits


def invoice_id(order_id: UUID, return_id: UUID | None = None) -> UUID:
    """One sale NF-e per order and one return NF-e per return: repeats are idempotent."""
    return uuid5(INVOICE_NAMESPACE, f"{order_id}:{return_id or 'sale'}")


def reversal_invoice_id(order_id: UUID) -> UUID:
    """The one entry NF-e that may undo an order's sale NF-e."""
    return uuid5(INVOICE_NAMESPACE, f"{order_id}:reversal")


class Invoice(EcoAggregate):
    class Requested(EcoAggregate.Created):
        order_id: UUID
        kind: str  # an InvoiceKind
        return_id: UUID | None

    class Issued(EcoAggregate.Event):
        access_key: str
        number: str
        series: str
        danfe_url: str
        taxes: Money  # the approximate taxes the document declares (Lei 12.741/2012)

    class IssueFailed(EcoAggregate.Event):
        reason: str  # the provider's or the SEFAZ's words; an admin must act

    class CancelRequested(EcoAggregate.Event):
        justification: str

    class Cancelled(EcoAggregate.Event):
        pass

    class CancelWindowClosed(EcoAggregate.Event):
        """The order was cancelled after the SEFAZ's 24 hours: this NF-e stays authorized,
        and why (an entry NF-e, `InvoiceKind.REVERSAL`, undoes it)."""

        reason: str

    @staticmethod
    def create_id(order_id: UUID, return_id: UUID | None = None) -> UUID:
        return invoice_id(order_id, return_id)

    @classmethod
    def request(cls, order_id: UUID, return_id: UUID | None = None) -> Invoice:
        kind = InvoiceKind.RETURN if return_id else InvoiceKind.SALE
        return cls(order_id=order_id, kind=kind.value, return_id=return_id)

    @classmethod
    def request_reversal(cls, order_id: UUID) -> Invoice:
        """The entry NF-e undoing the sale's (its own id: the library's `_create`)."""
        return cls._create(
            cls.Requested,
            id=reversal_invoice_id(order_id),
            order_id=order_id,
            kind=InvoiceKind.REVERSAL.value,
            return_id=None,
        )

    @event(Requested)
    def __init__(self, order_id: UUID, kind: str, return_id: UUID | None) -> None:
        self.order_id, self.kind, self.return_id = order_id, InvoiceKind(kind), return_id
        self.status = InvoiceStatus.REQUESTED
        self.access_key: str | None = None
        self.danfe_url: str | None = None
        self.taxes = Money.zero()
        self.failure: str | None = None
        self.cancel_refusal: str | None = None

    @property
    def reference(self) -> str:
        """The provider's reference for this document (its `ref`)."""
        return str(self.id)

    def check_status(self, *allowed: InvoiceStatus, action: str) -> None:
        if self.status not in allowed:
            raise IllegalInvoiceTransitionError(
                f"cannot {action} NF-e {self.id}: it is {self.status}"
            )

    def record_issued(
        self, access_key: str, number: str, series: str, danfe_url: str, taxes: Money
    ) -> bool:
        if self.status is InvoiceStatus.ISSUED:
            return False
        self.check_status(InvoiceStatus.REQUESTED, action="record")
        key = check_access_key(access_key)
        self._issued(access_key=key, number=number, series=series, danfe_url=danfe_url, taxes=taxes)
        return True

    def record_failure(self, reason: str) -> bool:
        reason = outside_text(reason)
        if self.status is not InvoiceStatus.REQUESTED or self.failure == reason:
            return False
        self._failed(reason=reason)
        return True

    def request_cancel(self, justification: str) -> bool:
        """Only an issued sale NF-e; a requested one that never issued is simply not issued."""
        if self.status is not InvoiceStatus.ISSUED:
            return False
        self._cancel_requested(justification=justification)
        return True

    def close_cancel_window(self, reason: str) -> bool:
        """Too late for the SEFAZ to cancel it: recorded once, with the reason."""
        if self.status is not InvoiceStatus.ISSUED or self.cancel_refusal is not None:
            return False
        self._cancel_window_closed(reason=outside_text(reason))
        return True

    def record_cancelled(self) -> None:
        self.check_status(InvoiceStatus.CANCEL_REQUESTED, action="record the cancellation of")
        self._cancelled()

    @event(Issued)
    def _issued(
        self, access_key: str, number: str, series: str, danfe_url: str, taxes: Money
    ) -> None:
        self.status, self.access_key, self.danfe_url = InvoiceStatus.ISSUED, access_key, danfe_url
        self.number, self.series, self.taxes = number, series, taxes

    @event(IssueFailed)
    def _failed(self, reason: str) -> None:
        self.failure = reason

    @event(CancelRequested)
    def _cancel_requested(self, justification: str) -> None:
        self.status = InvoiceStatus.CANCEL_REQUESTED

    @event(CancelWindowClosed)
    def _cancel_window_closed(self, reason: str) -> None:
        self.cancel_refusal = reason

    @event(Cancelled)
    def _cancelled(self) -> None:
        self.status = InvoiceStatus.CANCELLED
