"""Promotion rules without I/O: eligibility, limits, idempotent holds, the discount."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from uuid import uuid4

import pytest

from domain.money import Money
from domain.promotion import (
    CouponCustomerLimitReachedError,
    CouponLimitReachedError,
    CouponNotEligibleError,
    InvalidPromotionError,
    PricedLine,
    Promotion,
)

NOW = datetime.now(tz=UTC)


def promotion(**terms) -> Promotion:
    defaults = {
        "code": "promo-1",
        "description": "",
        "kind": "percent",
        "value": Decimal("10"),
        "valid_from": NOW - timedelta(days=1),
        "valid_until": NOW + timedelta(days=1),
    }
    return Promotion.launch(**{**defaults, **terms})


def test_codes_are_case_insensitive():
    assert promotion().code == "PROMO-1"
    assert Promotion.create_id("promo-1") == Promotion.create_id("PROMO-1")


def test_a_category_coupon_discounts_only_its_categories():
    p = promotion(categories=["moda"])
    lines = [
        PricedLine("A", "casa", Money.brl("100.00")),
        PricedLine("B", "moda", Money.brl("50.00")),
    ]
    assert p.discounts(lines) == [Money.zero(), Money.brl("5.00")]
    with pytest.raises(CouponNotEligibleError):
        p.check_applies(NOW, lines[:1])


def test_holding_a_use_twice_for_one_order_holds_one_and_giving_back_frees_it():
    p = promotion(max_uses=1)
    order = uuid4()
    p.hold_use(order, "ana", NOW)
    p.hold_use(order, "ana", NOW)
    assert p.use_count == 1
    with pytest.raises(CouponLimitReachedError):
        p.hold_use(uuid4(), "bia", NOW)
    p.give_back_use(order)
    p.give_back_use(order)
    assert p.use_count == 0


def test_a_customer_limit_counts_that_customers_uses_only():
    p = promotion(max_uses_per_customer=1)
    p.hold_use(uuid4(), "ana", NOW)
    p.hold_use(uuid4(), "bia", NOW)
    with pytest.raises(CouponCustomerLimitReachedError):
        p.hold_use(uuid4(), "ana", NOW)


@pytest.mark.parametrize(
    "terms",
    [
        {"value": Decimal("0")},
        {"value": Decimal("101")},
        {"kind": "fixed", "value": Decimal("1.234")},
        {"valid_until": NOW - timedelta(days=2)},
        {"max_uses": 0},
        {"code": "não!"},
        {"kind": "half"},
    ],
)
def test_malformed_terms_are_refused(terms):
    with pytest.raises(InvalidPromotionError):
        promotion(**terms)
