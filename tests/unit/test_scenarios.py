"""Use cases as given events → when a command → then new events (tests/scenario.py); run in
memory here and on PostgreSQL and Redis by tests/integration/test_scenarios.py."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from application.errors import AlreadyExistsError
from domain.base import now
from domain.cart import Cart
from domain.money import Money
from domain.order import Order
from domain.promotion import Promotion
from domain.stock_item import ArchivedProductError, InsufficientStockError, StockItem
from tests.checkout import ADDRESS, card
from tests.scenario import Expect, Scenario, a_stock_item


@pytest.fixture
def scenario(world):
    return Scenario(world.services)


def a_cart(customer: str, *lines: tuple[StockItem, int]) -> Cart:
    cart = Cart(customer_id=customer)
    for item, quantity in lines:
        cart.add_item(item.sku, item.name, quantity, item.price)
    return cart


def a_promotion(code: str, percent: str) -> Promotion:
    return Promotion.launch(
        code=code,
        description="",
        kind="percent",
        value=Decimal(percent),
        valid_from=now() - timedelta(days=1),
        valid_until=now() + timedelta(days=30),
    )


def test_receiving_stock_records_the_units_and_the_suppliers_reference(scenario):
    (
        scenario.given(a_stock_item("ECO-1", 10))
        .when(lambda s: s.catalog.receive_stock("ECO-1", 5, reference="NF 12"))
        .then(Expect(StockItem.Received, quantity=5, reference="NF 12"))
    )


def test_a_cart_line_beyond_what_is_available_is_refused_and_nothing_is_recorded(scenario):
    item = a_stock_item("ECO-1", 2)
    cart = a_cart("ana", (item, 1))
    (
        scenario.given(item, cart)
        .when(lambda s: s.checkout.add_cart_item(cart.id, "ana", "ECO-1", 2))
        .then_refused(InsufficientStockError, "ECO-1")
    )


def test_an_archived_product_cannot_be_put_in_a_cart(scenario):
    item = a_stock_item("ECO-1", 5)
    item.archive()
    cart = Cart(customer_id="ana")
    (
        scenario.given(item, cart)
        .when(lambda s: s.checkout.add_cart_item(cart.id, "ana", "ECO-1", 1))
        .then_refused(ArchivedProductError, "no longer sold")
    )


def test_a_coupon_on_a_cart_records_the_discount_on_its_lines(scenario):
    item = a_stock_item("ECO-1", 5, price="40.00")
    cart = a_cart("ana", (item, 2))
    (
        scenario.given(item, cart, a_promotion("DEZ", "10"))
        .when(lambda s: s.checkout.apply_coupon(cart.id, "ana", "dez"))
        .then(Expect(Cart.CouponApplied, code="DEZ", discount=Money.brl("8.00")))
    )


def test_checking_a_cart_out_places_the_order_and_closes_the_cart_in_one_commit(scenario):
    item = a_stock_item("ECO-1", 5)
    cart = a_cart("ana", (item, 2))
    placed, checked_out = (
        scenario.given(item, cart)
        .when(lambda s: s.checkout.checkout(cart.id, "ana", ADDRESS, card()))
        .then(Expect(Order.Placed, customer_id="ana", cart_id=cart.id), Cart.CheckedOut)
    )
    assert checked_out.order_id == placed.originator_id
    assert scenario.result.aggregate_id == placed.originator_id


def test_a_promotion_code_is_launched_once(scenario):
    (
        scenario.given(a_promotion("DEZ", "10"))
        .when(
            lambda s: s.promotions.launch_promotion(
                code="dez",
                description="",
                kind="percent",
                value=Decimal(5),
                valid_from=now(),
                valid_until=now() + timedelta(days=1),
            )
        )
        .then_refused(AlreadyExistsError, "DEZ")
    )
