"""Promotion: a coupon code, what it takes off, when and for whom, and how often it was used.

A use is held per order (keyed by order id, so holding or giving back twice is a no-op):
the checkout saga holds one together with the stock, all or none, and any compensation gives
it back. Since every use goes through this one aggregate's version, a coupon limited to N
uses is never used more than N times, whatever the concurrency.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import event

from domain.base import DomainError, EcoAggregate, InvalidInputError
from domain.money import CENTS, MAX_AMOUNT, Money

PROMOTION_NAMESPACE = uuid5(NAMESPACE_URL, "https://ecovarejo.com.br/promotion")
MAX_CODE_LENGTH = 40
# The one rule for a coupon code, at every edge (HTTP schema, CLI) and in `check_terms`:
# ASCII letters, digits and '-' — what a customer can type on any keyboard.
CODE_PATTERN = rf"^[A-Za-z0-9-]{{1,{MAX_CODE_LENGTH}}}$"
MAX_DESCRIPTION_LENGTH, MAX_CATEGORIES, MAX_CATEGORY_LENGTH = 500, 50, 100


class PromotionKind(StrEnum):
    PERCENT = "percent"
    FIXED = "fixed"


class PromotionError(DomainError):
    """Base of the errors a Promotion raises."""


class CouponNotApplicableError(PromotionError, InvalidInputError):
    """Base of the reasons a coupon does not apply (422, the code says which)."""


class CouponExpiredError(CouponNotApplicableError):
    """The coupon's validity ended."""


class CouponNotYetValidError(CouponNotApplicableError):
    """The coupon's validity has not started."""


class CouponInactiveError(CouponNotApplicableError):
    """The coupon was deactivated."""


class CouponBelowMinimumError(CouponNotApplicableError):
    """The cart's subtotal is below the coupon's minimum."""


class CouponNotEligibleError(CouponNotApplicableError):
    """No item of the cart is in the coupon's categories."""


class CouponLimitReachedError(PromotionError):
    """Every use of the coupon is taken (409)."""


class CouponCustomerLimitReachedError(PromotionError):
    """This customer used the coupon as often as allowed (409)."""


class InvalidPromotionError(PromotionError, InvalidInputError):
    """A promotion's terms are malformed (value, dates, limits, code)."""


@dataclass(frozen=True)
class PricedLine:
    """What the discount is computed on: a line's SKU, category and gross amount."""

    sku: str
    category: str
    gross: Money


def normalize_code(code: str) -> str:
    return code.strip().upper()


def split(amount: Money, weights: list[Money]) -> list[Money]:
    """`amount` shared in proportion to `weights`, to the centavo, adding up exactly (the
    rounding remainder goes to the largest weights first)."""
    total = sum((w.amount for w in weights), Decimal("0"))
    if total == 0:
        return [Money.zero() for _ in weights]
    shares = [(amount.amount * w.amount / total).quantize(CENTS, ROUND_HALF_UP) for w in weights]
    remainder = amount.amount - sum(shares, Decimal("0"))
    order = sorted(range(len(weights)), key=lambda i: -weights[i].amount)
    step = CENTS if remainder > 0 else -CENTS
    i = 0
    while remainder != 0:
        index = order[i % len(order)]
        if shares[index] + step <= weights[index].amount and shares[index] + step >= 0:
            shares[index] += step
            remainder -= step
        i += 1
    return [Money(s) for s in shares]


class Promotion(EcoAggregate):
    class Created(EcoAggregate.Created):
        code: str
        description: str
        kind: str  # a PromotionKind
        value: Decimal  # percent (10 = 10 %) or BRL off
        min_subtotal: Money
        valid_from: datetime
        valid_until: datetime
        max_uses: int | None
        max_uses_per_customer: int | None
        categories: list[str]

    class UseHeld(EcoAggregate.Event):
        order_id: UUID
        customer_id: str

    class UseGivenBack(EcoAggregate.Event):
        order_id: UUID

    class Deactivated(EcoAggregate.Event):
        pass

    @staticmethod
    def create_id(code: str) -> UUID:
        return uuid5(PROMOTION_NAMESPACE, normalize_code(code))

    @classmethod
    def launch(
        cls,
        *,
        code: str,
        description: str,
        kind: str,
        value: Decimal,
        valid_from: datetime,
        valid_until: datetime,
        min_subtotal: Money | None = None,
        max_uses: int | None = None,
        max_uses_per_customer: int | None = None,
        categories: list[str] | None = None,
    ) -> Promotion:
        code = code.strip()  # checked before upper-casing: "ß".upper() is "SS"
        cls.check_terms(code, kind, value, valid_from, valid_until, max_uses, max_uses_per_customer)
        cls.check_texts(description, categories or [])
        code = normalize_code(code)
        return cls(
            code=code,
            description=description,
            kind=PromotionKind(kind).value,
            value=value,
            min_subtotal=min_subtotal or Money.zero(),
            valid_from=valid_from,
            valid_until=valid_until,
            max_uses=max_uses,
            max_uses_per_customer=max_uses_per_customer,
            categories=sorted(set(categories or [])),
        )

    @event(Created)
    def __init__(
        self,
        *,
        code: str,
        description: str,
        kind: str,
        value: Decimal,
        min_subtotal: Money,
        valid_from: datetime,
        valid_until: datetime,
        max_uses: int | None,
        max_uses_per_customer: int | None,
        categories: list[str],
    ) -> None:
        self.code = code
        self.description = description
        self.kind = PromotionKind(kind)
        self.value = value
        self.min_subtotal = min_subtotal
        self.valid_from = valid_from
        self.valid_until = valid_until
        self.max_uses = max_uses
        self.max_uses_per_customer = max_uses_per_customer
        self.categories = categories
        self.active = True
        self.uses: dict[str, str] = {}  # order id -> customer id, for each use held

    @property
    def use_count(self) -> int:
        return len(self.uses)

    def uses_by(self, customer_id: str) -> int:
        return sum(1 for c in self.uses.values() if c == customer_id)

    # Guards -------------------------------------------------------------------------------
    @staticmethod
    def check_terms(
        code: str,
        kind: str,
        value: Decimal,
        valid_from: datetime,
        valid_until: datetime,
        max_uses: int | None,
        max_uses_per_customer: int | None,
    ) -> None:
        if not re.fullmatch(CODE_PATTERN, code):
            raise InvalidPromotionError(
                f"invalid code {code!r}: 1 to {MAX_CODE_LENGTH} ASCII letters, digits and '-'"
            )
        if kind not in PromotionKind.__members__.values():
            raise InvalidPromotionError(f"kind must be percent or fixed, not {kind!r}")
        if not value.is_finite() or value <= 0:
            raise InvalidPromotionError("value must be positive")
        if kind == PromotionKind.PERCENT and value > 100:
            raise InvalidPromotionError("a percent off is at most 100")
        if kind == PromotionKind.FIXED and value.as_tuple().exponent < -2:  # type: ignore[operator]
            raise InvalidPromotionError("a fixed amount off has at most two decimal places")
        if kind == PromotionKind.FIXED and value > MAX_AMOUNT:
            raise InvalidPromotionError(f"a fixed amount off is at most {MAX_AMOUNT}")
        if valid_until <= valid_from:
            raise InvalidPromotionError("valid_until must be after valid_from")
        for limit in (max_uses, max_uses_per_customer):
            if limit is not None and limit < 1:
                raise InvalidPromotionError("use limits are at least 1")

    @staticmethod
    def check_texts(description: str, categories: list[str]) -> None:
        if len(description) > MAX_DESCRIPTION_LENGTH:
            raise InvalidPromotionError(
                f"description is at most {MAX_DESCRIPTION_LENGTH} characters"
            )
        if len(categories) > MAX_CATEGORIES:
            raise InvalidPromotionError(f"at most {MAX_CATEGORIES} categories")
        if any(not 1 <= len(c) <= MAX_CATEGORY_LENGTH for c in categories):
            raise InvalidPromotionError(f"a category is 1 to {MAX_CATEGORY_LENGTH} characters")

    def check_applies(self, at: datetime, lines: list[PricedLine]) -> None:
        """422 reasons: inactive, not yet valid, expired, no eligible item, below minimum."""
        if not self.active:
            raise CouponInactiveError(f"coupon {self.code} is no longer active")
        if at < self.valid_from:
            raise CouponNotYetValidError(f"coupon {self.code} is valid from {self.valid_from}")
        if at >= self.valid_until:
            raise CouponExpiredError(f"coupon {self.code} expired on {self.valid_until}")
        if not any(self.covers(line) for line in lines):
            raise CouponNotEligibleError(f"coupon {self.code} covers none of these items")
        subtotal = sum((line.gross for line in lines), Money.zero())
        if subtotal < self.min_subtotal:
            raise CouponBelowMinimumError(
                f"coupon {self.code} needs a subtotal of {self.min_subtotal.amount}"
            )

    def check_available(self, customer_id: str, order_id: UUID | None = None) -> None:
        """409 reasons: every use taken, or this customer's uses taken."""
        if order_id is not None and str(order_id) in self.uses:
            return  # this order holds a use already
        if self.max_uses is not None and self.use_count >= self.max_uses:
            raise CouponLimitReachedError(f"coupon {self.code} has no uses left")
        limit = self.max_uses_per_customer
        if limit is not None and self.uses_by(customer_id) >= limit:
            raise CouponCustomerLimitReachedError(
                f"coupon {self.code} was already used {limit} time(s) by this customer"
            )

    # Queries ------------------------------------------------------------------------------
    def covers(self, line: PricedLine) -> bool:
        return not self.categories or line.category in self.categories

    def discounts(self, lines: list[PricedLine]) -> list[Money]:
        """The discount on each line: the coupon's amount over the eligible lines, split in
        proportion to their amounts (never more than a line's own amount)."""
        weights = [line.gross if self.covers(line) else Money.zero() for line in lines]
        eligible = sum((w.amount for w in weights), Decimal("0"))
        if self.kind == PromotionKind.PERCENT:
            off = (eligible * self.value / 100).quantize(CENTS, ROUND_HALF_UP)
        else:
            off = min(self.value, eligible)
        return split(Money(off), weights)

    # Commands -----------------------------------------------------------------------------
    def hold_use(self, order_id: UUID, customer_id: str, at: datetime) -> None:
        """Hold one use for `order_id` (again: nothing happens). Refused once inactive or
        outside its validity, or when the limits are reached."""
        if str(order_id) in self.uses:
            return
        if not self.active:
            raise CouponInactiveError(f"coupon {self.code} is no longer active")
        if not self.valid_from <= at < self.valid_until:
            raise CouponExpiredError(f"coupon {self.code} is not valid now")
        self.check_available(customer_id)
        self._use_held(order_id=order_id, customer_id=customer_id)

    def give_back_use(self, order_id: UUID) -> None:
        if str(order_id) in self.uses:
            self._use_given_back(order_id=order_id)

    def deactivate(self) -> None:
        if self.active:
            self._deactivated()

    # Mutators -----------------------------------------------------------------------------
    @event(UseHeld)
    def _use_held(self, order_id: UUID, customer_id: str) -> None:
        self.uses[str(order_id)] = customer_id

    @event(UseGivenBack)
    def _use_given_back(self, order_id: UUID) -> None:
        del self.uses[str(order_id)]

    @event(Deactivated)
    def _deactivated(self) -> None:
        self.active = False
