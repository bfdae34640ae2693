"""CPF (Cadastro de Pessoas Físicas): the Brazilian taxpayer number, validated by its two
check digits (Receita Federal's modulo-11 rule).

Accepts `123.456.789-09` or `12345678909`; keeps only the 11 digits. Numbers made of one
repeated digit pass the arithmetic but are not issued, so they are refused too. `repr` masks
the number: a CPF is personal data and must not leak into logs.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from domain.base import InvalidInputError

_FORMATTED = re.compile(r"\d{3}\.?\d{3}\.?\d{3}-?\d{2}")


class InvalidCpfError(InvalidInputError):
    """Not a CPF: wrong shape, or check digits that do not match."""


def cpf_check_digit(digits: str) -> str:
    """The next check digit of a CPF prefix (9 digits give the first, 10 the second)."""
    weights = range(len(digits) + 1, 1, -1)
    total = sum(int(d) * w for d, w in zip(digits, weights, strict=True))
    return str(total * 10 % 11 % 10)


@dataclass(frozen=True, repr=False)
class Cpf:
    digits: str

    def __post_init__(self) -> None:
        if not isinstance(self.digits, str) or not re.fullmatch(r"\d{11}", self.digits):
            raise InvalidCpfError("a CPF has 11 digits")
        if len(set(self.digits)) == 1:
            raise InvalidCpfError("CPF is not valid")
        first = cpf_check_digit(self.digits[:9])
        if self.digits[9:] != first + cpf_check_digit(self.digits[:9] + first):
            raise InvalidCpfError("CPF check digits do not match")

    @classmethod
    def parse(cls, text: str) -> Cpf:
        """A CPF as typed, with or without the dots and the hyphen."""
        if not isinstance(text, str) or not _FORMATTED.fullmatch(text.strip()):
            raise InvalidCpfError("CPF must be 11 digits, e.g. 123.456.789-09")
        return cls(re.sub(r"\D", "", text))

    @property
    def formatted(self) -> str:
        d = self.digits
        return f"{d[:3]}.{d[3:6]}.{d[6:9]}-{d[9:]}"

    @property
    def masked(self) -> str:
        """What may be shown back (receipts, admin screens): `***.456.789-**`."""
        return f"***.{self.digits[3:6]}.{self.digits[6:9]}-**"

    def __str__(self) -> str:
        return self.digits

    def __repr__(self) -> str:
        return f"Cpf({self.masked})"


def is_valid_cpf(text: str) -> bool:
    try:
        Cpf.parse(text)
    except InvalidCpfError:
        return False
    return True
