"""What a customer types at checkout: the card (never stored) and the shipping address."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from domain.base import InvalidInputError

BRAZILIAN_STATES = frozenset(
    (
        "AC",
        "AL",
        "AP",
        "AM",
        "BA",
        "CE",
        "DF",
        "ES",
        "GO",
        "MA",
        "MT",
        "MS",
        "MG",
        "PA",
        "PB",
        "PR",
        "PE",
        "PI",
        "RJ",
        "RN",
        "RS",
        "RO",
        "RR",
        "SC",
        "SP",
        "SE",
        "TO",
    )
)


class InvalidCardError(InvalidInputError):
    """A card number that fails the Luhn check, an expired card or a malformed CVC."""


class InvalidAddressError(InvalidInputError):
    """A shipping address that is not a Brazilian address."""


def luhn_ok(number: str) -> bool:
    digits = [int(d) for d in number]
    checksum = sum(digits[-1::-2]) + sum(sum(divmod(2 * d, 10)) for d in digits[-2::-2])
    return checksum % 10 == 0


@dataclass(frozen=True, repr=False)
class CardDetails:
    """A payment card as typed. It lives only for the tokenization call; repr hides it."""

    number: str
    expiry: str  # MM/YY
    cvc: str
    holder: str

    def __repr__(self) -> str:
        return f"CardDetails(****{self.number[-4:]})"

    def check(self, now: datetime) -> None:
        if not re.fullmatch(r"\d{12,19}", self.number) or not luhn_ok(self.number):
            raise InvalidCardError("card number is not valid")
        match = re.fullmatch(r"(0[1-9]|1[0-2])/(\d{2})", self.expiry)
        if not match:
            raise InvalidCardError("expiry must be MM/YY")
        month, year = int(match.group(1)), 2000 + int(match.group(2))
        if (year, month) < (now.year, now.month):
            raise InvalidCardError("card has expired")
        if not re.fullmatch(r"\d{3,4}", self.cvc):
            raise InvalidCardError("CVC must be 3 or 4 digits")
        if not self.holder.strip():
            raise InvalidCardError("card holder is required")


@dataclass(frozen=True)
class Address:
    line1: str
    line2: str
    city: str
    state: str
    postal_code: str
    country: str = "BR"

    def __post_init__(self) -> None:
        if self.country != "BR":
            raise InvalidAddressError("we ship within Brazil only (country BR)")
        if self.state not in BRAZILIAN_STATES:
            raise InvalidAddressError(f"unknown state {self.state!r}")
        if not re.fullmatch(r"\d{5}-?\d{3}", self.postal_code):
            raise InvalidAddressError("postal_code must be a CEP, e.g. 01310-100")
        if not self.line1.strip() or not self.city.strip():
            raise InvalidAddressError("line1 and city are required")

    def to_dict(self) -> dict[str, str]:
        return {
            "line1": self.line1,
            "line2": self.line2,
            "city": self.city,
            "state": self.state,
            "postal_code": self.postal_code,
            "country": self.country,
        }
