"""Numbers as people type them in Brazil: `1.234,56`, `34,80`, `R$ 12`, and as the API
writes them (`1234.56`, also `1,234.56`). A comma before the decimals is the decimal
separator; a lone dot is a decimal point (the API's form); dots or commas grouping three
digits are thousands. Anything else is refused, never guessed."""

from __future__ import annotations

import re
from decimal import Decimal

_BRAZILIAN = re.compile(r"-?(?:[0-9]{1,3}(?:\.[0-9]{3})+|[0-9]+)(?:,[0-9]+)?")
_API = re.compile(r"-?(?:[0-9]{1,3}(?:,[0-9]{3})+|[0-9]+)(?:\.[0-9]+)?")


def parse_decimal(text: str, places: int = 2) -> Decimal:
    """`text` as a Decimal with at most `places` decimals; ValueError says why not."""
    cleaned = text.strip().removeprefix("R$").strip().replace("\u00a0", "")
    if _API.fullmatch(cleaned):
        number = Decimal(cleaned.replace(",", ""))
    elif _BRAZILIAN.fullmatch(cleaned):
        number = Decimal(cleaned.replace(".", "").replace(",", "."))
    else:
        raise ValueError(f"{text!r} is not a number (e.g. 1.234,56 or 1234.56)")
    if -number.as_tuple().exponent > places:  # type: ignore[operator]
        raise ValueError(f"{text!r} has more than {places} decimals")
    return number
