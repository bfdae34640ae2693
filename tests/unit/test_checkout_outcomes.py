"""The checkout saga's outcomes, in memory (the `world` fixture); the same tests run again on
PostgreSQL and Redis from tests/integration/test_checkout_outcomes.py."""

from __future__ import annotations

from decimal import Decimal

from domain.order import CancellationReason, OrderStatus
from domain.payment import payment_id_for_order
from domain.personal import words_of
from tests.checkout import DECLINED, check_invariants, check_out, fill_cart, place_order, register


def test_an_approved_order_is_confirmed_holding_its_stock_and_money(world):
    register(world.services, "ECO-1", 10)
    order_id = place_order(world.services, {"ECO-1": 3})
    world.settle()
    order = world.services.orders.order_of(order_id)
    assert order.status is OrderStatus.CONFIRMED
    assert world.services.catalog.stock_item("ECO-1").available == 7
    payment = world.services.payments.payment(payment_id_for_order(order_id))
    assert (payment.status, payment.authorized) == ("authorized", order.totals.total)
    assert order.lines[0].net == order.totals.subtotal
    assert order.carbon_footprint_kg == Decimal("4.5") + Decimal("0.330")  # + 1.5 kg by road
    check_invariants(world.services)


def test_a_declined_card_cancels_and_gives_the_stock_back(world):
    register(world.services, "ECO-1", 10)
    order_id = place_order(world.services, {"ECO-1": 3}, DECLINED)
    world.settle()
    order = world.services.orders.order_of(order_id)
    assert (order.status, order.cancellation_reason) == (
        OrderStatus.CANCELLED,
        CancellationReason.PAYMENT_DECLINED,
    )
    assert world.services.catalog.stock_item("ECO-1").available == 10
    check_invariants(world.services)


def test_the_second_of_two_orders_for_the_last_units_is_cancelled_as_insufficient_stock(world):
    register(world.services, "ECO-1", 4)
    first = check_out(world.services, fill_cart(world.services, {"ECO-1": 3}))
    second = check_out(world.services, fill_cart(world.services, {"ECO-1": 3}))
    world.settle()
    assert world.services.orders.order_of(first).status is OrderStatus.CONFIRMED
    assert (
        world.services.orders.order_of(second).cancellation_reason
        is CancellationReason.INSUFFICIENT_STOCK
    )
    check_invariants(world.services)


def test_an_order_still_unpaid_at_its_deadline_is_cancelled_as_payment_timeout(world):
    register(world.services, "ECO-1", 10)
    order_id = place_order(world.services, {"ECO-1": 2})
    world.pump()
    world.services.orders.expire_order(order_id)  # the deadline comes before any gateway answered
    world.settle(deadlines=True)
    order = world.services.orders.order_of(order_id)
    assert order.cancellation_reason is CancellationReason.PAYMENT_TIMEOUT
    check_invariants(world.services)


def test_cancelling_keeps_the_customers_words_beside_the_reason(world):
    register(world.services, "ECO-1", 10)
    order_id = place_order(world.services, {"ECO-1": 1}, customer="ana")
    world.settle()
    world.services.orders.cancel_order(order_id, "ana", "comprei errado")
    world.settle()
    order = world.services.orders.order_of(order_id)
    assert (order.cancellation_reason, words_of(order.cancellation_detail)) == (
        "customer_request",
        "comprei errado",
    )
    assert world.services.payments.payment(payment_id_for_order(order_id)).status == "voided"
    check_invariants(world.services)


def test_shipping_records_carrier_tracking_and_time_and_captures(world):
    register(world.services, "ECO-1", 10)
    order_id = place_order(world.services, {"ECO-1": 2})
    world.settle()
    world.services.orders.ship_order(order_id, "Correios", "BR123")
    world.settle()
    order = world.services.orders.order_of(order_id)
    assert (order.carrier, order.tracking_code) == ("Correios", "BR123")
    assert order.shipped_at is not None
    assert world.services.payments.payment(payment_id_for_order(order_id)).status == "captured"
    check_invariants(world.services)
