"""GTIN: the barcode number of a variant (GTIN-8, -12, -13 or -14: EAN/UPC).

The last digit is a check digit (GS1 General Specifications, "Check digit calculation"):
from the right, not counting the check digit itself, digits are weighted 3, 1, 3, 1 …; the
check digit brings the weighted sum up to a multiple of ten. A mistyped digit or two
swapped neighbours change the sum, so a wrong check digit is refused, never stored.
"""

from __future__ import annotations

from domain.base import InvalidInputError

GTIN_LENGTHS = (8, 12, 13, 14)


class InvalidGtinError(InvalidInputError):
    """Not a GTIN: wrong length, not digits, or a check digit that does not match."""


def check_digit(body: str) -> int:
    """The check digit for `body` (every digit but the last)."""
    total = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(body)))
    return (10 - total % 10) % 10


def check_gtin(gtin: str) -> None:
    """Refuse anything but a GTIN whose check digit matches; "" means "no barcode"."""
    if gtin == "":
        return
    if not (gtin.isascii() and gtin.isdigit()) or len(gtin) not in GTIN_LENGTHS:
        raise InvalidGtinError("a GTIN is 8, 12, 13 or 14 digits")
    if int(gtin[-1]) != check_digit(gtin[:-1]):
        raise InvalidGtinError(
            f"GTIN {gtin}: the check digit should be {check_digit(gtin[:-1])}, not {gtin[-1]}"
        )
