"""The basket a shopper fills before signing in: a cookie of SKUs and quantities (and the
coupon and CEP typed on the cart page), read strictly (anything malformed is an empty
basket, never an error). It holds no price: every view prices it from today's catalog
(`application/storefront.py`)."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, replace

from fastapi import Request

from api.storefront.web import digits_only, pending

BASKET_COOKIE = "ev_shop_basket"
MAX_LINES = 50
MAX_QUANTITY = 999
BASKET_TTL_S = 30 * 86400
_SKU = re.compile(r"^[A-Z0-9][A-Z0-9-]{1,39}$")
_COUPON = re.compile(r"^[A-Za-z0-9_-]{1,40}$")
_CEP = re.compile(r"^[0-9]{5}-?[0-9]{3}$")


@dataclass(frozen=True)
class Basket:
    lines: tuple[tuple[str, int], ...] = ()
    coupon: str | None = None
    cep: str | None = None

    def with_quantity(self, sku: str, quantity: int, add: bool = False) -> Basket:
        current = dict(self.lines)
        wanted = current.get(sku, 0) + quantity if add else quantity
        if wanted <= 0:
            current.pop(sku, None)
        else:
            current[sku] = min(wanted, MAX_QUANTITY)
        return replace(self, lines=tuple(current.items())[:MAX_LINES])

    def dump(self) -> str:
        lines = "|".join(f"{sku}*{quantity}" for sku, quantity in self.lines)
        return f"{lines}~{self.coupon or ''}~{self.cep or ''}"

    def fingerprint(self, customer_id: str) -> str:
        """Which cart was made of this basket, for this customer."""
        text = f"{customer_id}\n{self.dump()}"
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    @property
    def count(self) -> int:
        return sum(quantity for _, quantity in self.lines)


def parse(value: str | None) -> Basket:
    if not value or len(value) > 4000:
        return Basket()
    parts = value.split("~")
    if len(parts) != 3:
        return Basket()
    raw_lines, coupon, cep = parts
    lines: dict[str, int] = {}
    for item in raw_lines.split("|") if raw_lines else []:
        sku, _, quantity = item.partition("*")
        if (
            not _SKU.match(sku)
            or not digits_only(quantity)
            or not 1 <= int(quantity) <= MAX_QUANTITY
        ):
            return Basket()
        lines[sku] = int(quantity)
    return Basket(
        tuple(lines.items())[:MAX_LINES],
        coupon if _COUPON.match(coupon) else None,
        cep if _CEP.match(cep) else None,
    )


def basket_of(request: Request) -> Basket:
    return parse(request.cookies.get(BASKET_COOKIE))


def keep(request: Request, basket: Basket) -> None:
    cookies = pending(request)
    if basket == Basket():
        cookies.drop.append(BASKET_COOKIE)
        cookies.set.pop(BASKET_COOKIE, None)
    else:
        cookies.set[BASKET_COOKIE] = (basket.dump(), BASKET_TTL_S)
