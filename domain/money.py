"""Money and the other small value objects. Money is Decimal with a currency, never float."""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from domain.base import InvalidInputError

CURRENCY = "BRL"
CENTS = Decimal("0.01")
MAX_AMOUNT = Decimal("10000000.00")


class InvalidMoneyError(InvalidInputError):
    """An amount that is not a decimal with at most two places, or not in BRL."""


@dataclass(frozen=True, order=True)
class Money:
    amount: Decimal
    currency: str = CURRENCY

    def __post_init__(self) -> None:
        if not isinstance(self.amount, Decimal) or isinstance(self.amount, bool):
            raise InvalidMoneyError(f"amount must be a Decimal, got {type(self.amount).__name__}")
        if not self.amount.is_finite():
            raise InvalidMoneyError("amount must be finite")
        if self.amount.as_tuple().exponent < -2:  # type: ignore[operator]
            raise InvalidMoneyError("amount has more than two decimal places")
        if abs(self.amount) > MAX_AMOUNT:
            raise InvalidMoneyError(f"amount exceeds {MAX_AMOUNT}")
        if self.currency != CURRENCY:
            raise InvalidMoneyError(f"currency must be {CURRENCY}, got {self.currency!r}")
        object.__setattr__(self, "amount", self.amount.quantize(CENTS))

    @classmethod
    def brl(cls, amount: str | int | Decimal) -> Money:
        if isinstance(amount, float):
            raise InvalidMoneyError("amount must be a decimal string, not a float")
        try:
            return cls(Decimal(amount))
        except InvalidOperation as e:
            raise InvalidMoneyError(f"not a decimal amount: {amount!r}") from e

    @classmethod
    def zero(cls) -> Money:
        return cls(Decimal("0.00"))

    def __add__(self, other: Money) -> Money:
        return Money(self.amount + other.amount, self.currency)

    def __sub__(self, other: Money) -> Money:
        return Money(self.amount - other.amount, self.currency)

    def times(self, quantity: int) -> Money:
        return Money(self.amount * quantity, self.currency)

    @property
    def is_positive(self) -> bool:
        return self.amount > 0

    def to_dict(self) -> dict[str, str]:
        return {"amount": str(self.amount), "currency": self.currency}

    @classmethod
    def from_dict(cls, data: dict[str, str]) -> Money:
        return cls(Decimal(data["amount"]), data["currency"])


_SKU = re.compile(r"^[A-Z0-9][A-Z0-9-]{1,39}$")


class InvalidSkuError(InvalidInputError):
    """A SKU is 2 to 40 characters: upper-case letters, digits and hyphens."""


def check_sku(sku: str) -> str:
    if not isinstance(sku, str) or not _SKU.match(sku):
        raise InvalidSkuError(
            f"invalid SKU {sku!r}: 2-40 characters, upper-case letters, digits and '-'"
        )
    return sku
