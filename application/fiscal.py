"""The fiscal provider port: the NF-e of a sale or a return, as a document the provider
signs and sends to the SEFAZ, then its status; cancellation within the legal window.

What goes in a document is built here from the order (lines with their NCM, origin and
CFOP, freight, discount) and the recipient (name, CPF, address: personal data, sent to the
provider because the law requires it on the NF-e, never stored here).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Protocol

from domain.money import Money


class FiscalError(Exception):
    """The provider refused or was unreachable; `retryable` when trying again may help."""

    def __init__(self, message: str, retryable: bool = False):
        super().__init__(message)
        self.retryable = retryable


@dataclass(frozen=True)
class FiscalItem:
    sku: str
    description: str
    quantity: int
    unit_price: Money
    ncm: str
    origin: int  # 0 national … 8 (ICMS origem)
    cfop: str


@dataclass(frozen=True)
class FiscalRecipient:
    name: str
    cpf: str
    line1: str
    city: str
    state: str
    postal_code: str


@dataclass(frozen=True)
class FiscalDocument:
    reference: str
    items: list[FiscalItem]
    recipient: FiscalRecipient
    freight: Money
    discount: Money
    is_return: bool = False
    refers_to: str | None = None  # the sale's access key, for a return
    nature: str = "Venda de mercadoria"
    extra: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class FiscalStatus:
    """`processing`, `authorized`, `rejected` or `cancelled`, with what the provider gave."""

    state: str
    access_key: str = ""
    number: str = ""
    series: str = ""
    danfe_url: str = ""
    taxes: Money = field(default_factory=Money.zero)
    message: str = ""


class FiscalProvider(Protocol):
    name: str

    def issue(self, document: FiscalDocument) -> FiscalStatus: ...

    def status(self, reference: str) -> FiscalStatus: ...

    def cancel(self, reference: str, justification: str) -> FiscalStatus: ...


def taxes_of(amount: Decimal | str) -> Money:
    return Money.brl(str(Decimal(str(amount)).quantize(Decimal("0.01"))))
