"""What the customer chose to pay with at checkout: a card (in installments), Pix or boleto.

Checked before anything is placed: installments within the shop's interest-free offer, a
total the method takes (a boleto under R$ 5,00 or a Pix under R$ 1,00 is refused: issuing
costs more than it collects, and the providers refuse such slips), a valid CPF for a boleto.
"""

from __future__ import annotations

from dataclasses import dataclass

from domain.base import InvalidInputError
from domain.card import CardDetails
from domain.cpf import Cpf
from domain.installments import InstallmentPlan
from domain.money import Money

MINIMUM_TOTAL = {"pix": Money.brl("1.00"), "boleto": Money.brl("5.00")}


class AmountBelowMethodMinimumError(InvalidInputError):
    """The order total is below what this payment method takes."""


@dataclass(frozen=True)
class CardPayment:
    card: CardDetails
    installments: int = 1
    method = "card"

    def check_total(self, total: Money, interest_free_up_to: int) -> InstallmentPlan:
        return InstallmentPlan.offer(self.installments, total, interest_free_up_to)


@dataclass(frozen=True)
class TokenCardPayment:
    """A card tokenized in the shopper's browser by the provider's SDK: only its token."""

    card_token: str
    installments: int = 1
    method = "card"

    def check_total(self, total: Money, interest_free_up_to: int) -> InstallmentPlan:
        return InstallmentPlan.offer(self.installments, total, interest_free_up_to)


@dataclass(frozen=True)
class PixPayment:
    method = "pix"

    def check_total(self, total: Money, interest_free_up_to: int) -> None:
        check_minimum(self.method, total)


@dataclass(frozen=True)
class BoletoPayment:
    payer_cpf: Cpf
    method = "boleto"

    def check_total(self, total: Money, interest_free_up_to: int) -> None:
        check_minimum(self.method, total)


PaymentChoice = CardPayment | TokenCardPayment | PixPayment | BoletoPayment


def check_minimum(method: str, total: Money) -> None:
    minimum = MINIMUM_TOTAL[method]
    if total < minimum:
        raise AmountBelowMethodMinimumError(
            f"{method} takes totals from {minimum.amount}; this order is {total.amount}"
        )
