"""Boleto de cobrança: the 44-digit bar code and its 47-digit *linha digitável*.

Follows the FEBRABAN layout for bank collection slips (*Layout Padrão de Arrecadação /
Boleto de Cobrança*, Carta Circular BCB 2.926 for the due-date factor):

    bar code (44): bank(3) currency 9(1) DV(1) due factor(4) amount in centavos(10) free(25)
    DV: modulo 11 over the other 43 digits, weights 2..9 from the right, cycling;
        DV = 11 - (sum mod 11), and 0, 10 or 11 become 1
    line (47): field 1 = bank, currency, free[0:5], mod-10 DV      (10 digits)
               field 2 = free[5:15], mod-10 DV                      (11)
               field 3 = free[15:25], mod-10 DV                     (11)
               field 4 = the bar code's DV                          (1)
               field 5 = due factor and amount                      (14)
    mod 10: weights 2,1,2,1... from the right, digits of each product summed;
            DV = (10 - sum mod 10) mod 10
    due factor: days since 1997-10-07 (1000 on 2000-07-03 ... 9999 on 2025-02-21); from
            2025-02-22 the count starts again at 1000 (FEBRABAN, 2025).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from domain.base import InvalidInputError
from domain.money import Money

FACTOR_BASE = date(1997, 10, 7)
BRASILIA = ZoneInfo("America/Sao_Paulo")  # boleto due dates are Brasília calendar days


def boleto_deadline(issued_at: datetime, days: int) -> datetime:
    """The end of the due day in Brasília, `days` after the day of issue there (banks take
    a boleto all through its due date)."""
    due = issued_at.astimezone(BRASILIA).date() + timedelta(days=days)
    return datetime.combine(due, time(23, 59, 59), BRASILIA).astimezone(UTC)


def due_date(deadline: datetime) -> date:
    """The due date printed on the boleto for that deadline."""
    return deadline.astimezone(BRASILIA).date()


FACTOR_RESTART = date(2025, 2, 22)  # factor 1000 again
MAX_AMOUNT = Decimal("99999999.99")


class InvalidBoletoError(InvalidInputError):
    """A boleto that cannot be issued (amount, date, fields) or a line that does not check."""


def mod10(digits: str) -> str:
    total = 0
    for i, d in enumerate(reversed(digits)):
        product = int(d) * (2 if i % 2 == 0 else 1)
        total += product // 10 + product % 10
    return str((10 - total % 10) % 10)


def mod11_barcode(digits: str) -> str:
    total = sum(int(d) * (2 + i % 8) for i, d in enumerate(reversed(digits)))
    dv = 11 - total % 11
    return "1" if dv in (0, 10, 11) else str(dv)


def due_factor(due: date) -> str:
    if FACTOR_BASE + timedelta(days=1000) <= due < FACTOR_RESTART:
        return f"{(due - FACTOR_BASE).days:04d}"
    if due >= FACTOR_RESTART:
        return f"{1000 + (due - FACTOR_RESTART).days % 9000:04d}"
    raise InvalidBoletoError(f"no due factor for {due.isoformat()}")


@dataclass(frozen=True)
class Boleto:
    bank: str  # 3-digit bank code (COMPE)
    amount: Money
    due_date: date
    free_field: str  # 25 digits, the bank's own layout (agreement, our number, ...)

    def __post_init__(self) -> None:
        if not re.fullmatch(r"\d{3}", self.bank):
            raise InvalidBoletoError("bank code must be 3 digits")
        if not re.fullmatch(r"\d{25}", self.free_field):
            raise InvalidBoletoError("the free field must be 25 digits")
        if not self.amount.is_positive or self.amount.amount > MAX_AMOUNT:
            raise InvalidBoletoError(f"a boleto is for 0.01 to {MAX_AMOUNT}")

    @property
    def _factor_and_amount(self) -> str:
        centavos = int(self.amount.amount * 100)
        return due_factor(self.due_date) + f"{centavos:010d}"

    @property
    def barcode(self) -> str:
        without_dv = self.bank + "9" + self._factor_and_amount + self.free_field
        dv = mod11_barcode(without_dv)
        return without_dv[:4] + dv + without_dv[4:]

    @property
    def digitable_line(self) -> str:
        code = self.barcode
        f1 = code[:4] + code[19:24]
        f2 = code[24:34]
        f3 = code[34:44]
        return f1 + mod10(f1) + f2 + mod10(f2) + f3 + mod10(f3) + code[4] + code[5:19]

    @property
    def formatted_line(self) -> str:
        """As printed: `AAABC.CCCCX DDDDD.DDDDDY EEEEE.EEEEEZ K UUUUVVVVVVVVVV`."""
        s = self.digitable_line
        return f"{s[:5]}.{s[5:10]} {s[10:15]}.{s[15:21]} {s[21:26]}.{s[26:32]} {s[32]} {s[33:]}"


def check_digitable_line(line: str) -> str:
    """The bar code of a 47-digit line, after checking its three mod-10 and its mod-11 DVs."""
    digits = re.sub(r"[\s.]", "", line)
    if not re.fullmatch(r"\d{47}", digits):
        raise InvalidBoletoError("a linha digitável has 47 digits")
    for start, end in ((0, 9), (10, 20), (21, 31)):
        if mod10(digits[start:end]) != digits[end]:
            raise InvalidBoletoError(f"check digit of the field ending at {end + 1} is wrong")
    code = digits[:4] + digits[32] + digits[33:47] + digits[4:9] + digits[10:20] + digits[21:31]
    if mod11_barcode(code[:4] + code[5:]) != code[4]:
        raise InvalidBoletoError("the general check digit is wrong")
    return code
