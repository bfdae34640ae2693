"""Coupons: the discount a cart shows is what the order charges; a coupon limited to N uses
is used at most N times whatever the concurrency; every compensation gives the use back.
In memory (the `world` fixture); tests/integration/test_promotions.py runs them again on
PostgreSQL and Redis, and the race once more on the whole running system."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from application.errors import UnknownCouponError
from domain.cart import CartAlreadyCheckedOutError
from domain.money import Money
from domain.order import CancellationReason, Order, OrderStatus
from domain.promotion import (
    CouponBelowMinimumError,
    CouponExpiredError,
    CouponInactiveError,
    CouponLimitReachedError,
    CouponNotYetValidError,
    PromotionError,
)
from tests.checkout import (
    DECLINED,
    aggregates,
    check_invariants,
    check_out,
    fill_cart,
    register,
)

NOW = datetime.now(tz=UTC)


def launch(services, code="BEMVINDO10", kind="percent", value="10", **terms):
    terms.setdefault("valid_from", NOW - timedelta(days=1))
    terms.setdefault("valid_until", NOW + timedelta(days=30))
    services.promotions.launch_promotion(
        code=code, description="", kind=kind, value=Decimal(value), **terms
    )


def test_a_percent_coupon_is_split_over_the_lines_and_charged(world):
    register(world.services, "ECO-1", 10, "33.33")
    register(world.services, "ECO-2", 10, "10.00")
    launch(world.services)
    cart = fill_cart(world.services, {"ECO-1": 1, "ECO-2": 2})
    world.services.checkout.apply_coupon(cart[0], cart[1], "bemvindo10")
    assert world.services.checkout.cart_of(*cart).discount == Money.brl("5.33")
    order_id = check_out(world.services, cart)
    world.settle()
    order = world.services.orders.order_of(order_id)
    assert order.status is OrderStatus.CONFIRMED
    assert order.coupon == "BEMVINDO10"
    assert [line.discount for line in order.lines] == [Money.brl("3.33"), Money.brl("2.00")]
    assert order.totals.discount == Money.brl("5.33")
    assert (
        order.totals.total == order.totals.subtotal - order.totals.discount + order.totals.shipping
    )
    assert world.services.promotions.promotion("BEMVINDO10").use_count == 1


def test_a_fixed_coupon_never_takes_off_more_than_the_cart(world):
    register(world.services, "ECO-1", 10, "8.00")
    launch(world.services, "MENOS15", "fixed", "15.00")
    cart = fill_cart(world.services, {"ECO-1": 1})
    world.services.checkout.apply_coupon(cart[0], cart[1], "MENOS15")
    assert world.services.checkout.cart_of(*cart).discount == Money.brl("8.00")


def test_removing_lines_reprices_the_discount(world):
    register(world.services, "ECO-1", 10, "100.00")
    register(world.services, "ECO-2", 10, "50.00")
    launch(world.services, min_subtotal=Money.brl("120.00"))
    cart = fill_cart(world.services, {"ECO-1": 1, "ECO-2": 1})
    world.services.checkout.apply_coupon(cart[0], cart[1], "BEMVINDO10")
    assert world.services.checkout.cart_of(*cart).discount == Money.brl("15.00")
    world.services.checkout.remove_cart_item(cart[0], cart[1], "ECO-2")
    assert world.services.checkout.cart_of(*cart).discount == Money.zero()  # below the minimum now
    with pytest.raises(CouponBelowMinimumError):
        check_out(world.services, cart)


@pytest.mark.parametrize(
    ("terms", "error"),
    [
        (
            {"valid_until": NOW - timedelta(hours=1), "valid_from": NOW - timedelta(days=2)},
            CouponExpiredError,
        ),
        ({"valid_from": NOW + timedelta(days=1)}, CouponNotYetValidError),
        ({"min_subtotal": Money.brl("1000.00")}, CouponBelowMinimumError),
    ],
)
def test_a_coupon_that_does_not_apply_is_refused_with_its_reason(world, terms, error):
    register(world.services, "ECO-1", 10)
    launch(world.services, **terms)
    cart = fill_cart(world.services, {"ECO-1": 1})
    with pytest.raises(error):
        world.services.checkout.apply_coupon(cart[0], cart[1], "BEMVINDO10")
    assert world.services.checkout.cart_of(*cart).coupon is None


def test_unknown_inactive_and_used_up_coupons_and_checked_out_carts_are_refused(world):
    register(world.services, "ECO-1", 10)
    launch(world.services, "UMAVEZ", max_uses=1)
    launch(world.services, "DESLIGADO")
    world.services.promotions.deactivate_promotion("DESLIGADO")
    cart = fill_cart(world.services, {"ECO-1": 1})
    with pytest.raises(UnknownCouponError):
        world.services.checkout.apply_coupon(cart[0], cart[1], "NAOEXISTE")
    with pytest.raises(CouponInactiveError):
        world.services.checkout.apply_coupon(cart[0], cart[1], "DESLIGADO")
    world.services.checkout.apply_coupon(cart[0], cart[1], "UMAVEZ")
    check_out(world.services, cart)
    world.settle()
    with pytest.raises(CartAlreadyCheckedOutError):
        world.services.checkout.apply_coupon(cart[0], cart[1], "UMAVEZ")
    other = fill_cart(world.services, {"ECO-1": 1})
    with pytest.raises(CouponLimitReachedError):
        world.services.checkout.apply_coupon(other[0], other[1], "UMAVEZ")


def test_a_declined_payment_gives_the_coupon_use_back(world):
    register(world.services, "ECO-1", 10)
    launch(world.services, "UMAVEZ", max_uses=1)
    cart = fill_cart(world.services, {"ECO-1": 1})
    world.services.checkout.apply_coupon(cart[0], cart[1], "UMAVEZ")
    order_id = check_out(world.services, cart, DECLINED)
    world.settle()
    assert world.services.orders.order_of(order_id).status is OrderStatus.CANCELLED
    assert world.services.promotions.promotion("UMAVEZ").use_count == 0
    check_invariants(world.services)


def buy_with_coupon(services, code: str) -> str:
    """One buyer: a cart, the coupon, checkout. 'refused' if the coupon was refused first."""
    cart = fill_cart(services, {"ECO-1": 1})
    try:
        services.checkout.apply_coupon(cart[0], cart[1], code)
        return str(check_out(services, cart))
    except PromotionError:
        return "refused"


def count_outcomes(services, code: str) -> tuple[int, int]:
    found = aggregates(services)
    with_coupon = [o for o in found[Order] if o.coupon == code]
    confirmed = [o for o in with_coupon if o.status is OrderStatus.CONFIRMED]
    unavailable = [
        o for o in with_coupon if o.cancellation_reason is CancellationReason.COUPON_UNAVAILABLE
    ]
    assert all(o.totals.discount.is_positive for o in confirmed)
    assert len(confirmed) + len(unavailable) == len(with_coupon)
    return len(confirmed), len(unavailable)


def test_thirty_buyers_race_for_ten_uses_and_exactly_ten_get_them(world):
    register(world.services, "ECO-1", 100)
    launch(world.services, "DEZ", max_uses=10)
    with ThreadPoolExecutor(max_workers=10) as pool:
        outcomes = list(pool.map(lambda _: buy_with_coupon(world.services, "DEZ"), range(30)))
    world.settle()
    confirmed, unavailable = count_outcomes(world.services, "DEZ")
    assert confirmed == 10
    assert unavailable + outcomes.count("refused") == 20
    assert world.services.promotions.promotion("DEZ").use_count == 10
    check_invariants(world.services)
