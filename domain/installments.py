"""Card installments (*parcelamento*): 1 to 12, interest-free up to the shop's limit.

The shop offers interest-free installments only (*parcelado lojista sem juros*): the card is
charged the order total and the issuer bills it in equal parts. When the total does not
divide evenly, the first installment carries the leftover centavos, so the parts always add
up to the total to the centavo.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_DOWN

from domain.base import InvalidInputError
from domain.money import CENTS, Money

MAX_INSTALLMENTS = 12
MIN_INSTALLMENT = Money.brl("5.00")  # acquirers refuse smaller parts


class InvalidInstallmentsError(InvalidInputError):
    """Installments out of 1-12, above the interest-free limit, or parts below the minimum."""


@dataclass(frozen=True)
class InstallmentPlan:
    count: int
    total: Money

    def __post_init__(self) -> None:
        if isinstance(self.count, bool) or not isinstance(self.count, int):
            raise InvalidInstallmentsError("installments must be a whole number")
        if not 1 <= self.count <= MAX_INSTALLMENTS:
            raise InvalidInstallmentsError(f"installments must be 1 to {MAX_INSTALLMENTS}")

    @classmethod
    def offer(cls, count: int, total: Money, interest_free_up_to: int) -> InstallmentPlan:
        """The plan a customer may choose: within 1-12, within the shop's interest-free
        limit, and no part smaller than the acquirers' minimum (a 1x plan is always fine)."""
        plan = cls(count, total)
        if count > interest_free_up_to:
            raise InvalidInstallmentsError(
                f"this shop offers at most {interest_free_up_to} interest-free installments"
            )
        if count > 1 and plan.amounts[-1] < MIN_INSTALLMENT:
            raise InvalidInstallmentsError(
                f"each installment must be at least {MIN_INSTALLMENT.amount}"
            )
        return plan

    @property
    def amounts(self) -> list[Money]:
        part = (self.total.amount / self.count).quantize(CENTS, rounding=ROUND_DOWN)
        first = self.total.amount - part * (self.count - 1)
        return [Money(first)] + [Money(part)] * (self.count - 1)

    @property
    def installment_amount(self) -> Money:
        """The regular part (every installment but possibly the first)."""
        return self.amounts[-1]

    def to_dict(self) -> dict[str, object]:
        return {
            "count": self.count,
            "amount": str(self.installment_amount.amount),
            "first_amount": str(self.amounts[0].amount),
            "total": str(self.total.amount),
            "interest_free": True,
        }
