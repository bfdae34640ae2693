"""A line's refunds add up to its net to the centavo, one unit at a time or in any sizes,
and none is ever below zero (issue 21: a fixed coupon leaving 0.02 on 4 units refunded
0.01, 0.01, 0.01 and then -0.01, and every read of the order answered 500)."""

from __future__ import annotations

import uuid
from datetime import timedelta
from decimal import Decimal

from domain.base import now
from domain.money import Money
from domain.order import Order, OrderLine, PaymentMethod, refund_share
from domain.personal import PersonalData


def shipped(quantity: int, unit_price: str, discount: str) -> Order:
    line = OrderLine(
        "ECO-1", "Garrafa", quantity, Money.brl(unit_price), Decimal("1"), Money.brl(discount)
    )
    order = Order.place(
        customer_id="ana",
        cart_id=uuid.uuid4(),
        lines=[line],
        shipping_address=PersonalData("ana", {"city": "Recife"}),
        payment_method=PaymentMethod("card", "t", "visa", "4242"),
    )
    order.mark_stock_reserved()
    order.confirm(uuid.uuid4())
    order.ship("Correios", "BR1")
    return order


def return_units(order: Order, quantity: int) -> Money:
    lines = order.quote_return([("ECO-1", quantity)], now() + timedelta(days=1))
    return_id = uuid.uuid4()
    order.open_return(return_id, lines)
    order.complete_return(return_id)
    return lines[0].refund


def test_a_line_left_at_two_centavos_on_four_units_refunds_them_one_by_one_to_its_net():
    order = shipped(4, "10.00", "39.98")  # a fixed coupon leaves 0.02 for the four units
    refunds = [return_units(order, 1) for _ in range(4)]
    assert all(r.amount >= 0 for r in refunds)
    assert sum((r.amount for r in refunds), Decimal("0")) == Decimal("0.02")
    assert order.refunded_total == Money.brl("0.02")


def test_a_rejected_return_gives_its_share_back_to_the_units_still_out():
    order = shipped(3, "10.00", "0.01")  # net 29.99
    lines = order.quote_return([("ECO-1", 1)], now() + timedelta(days=1))
    rejected = uuid.uuid4()
    order.open_return(rejected, lines)
    order.close_return(rejected)
    refunds = [return_units(order, 2), return_units(order, 1)]
    assert sum((r.amount for r in refunds), Decimal("0")) == Decimal("29.99")


def test_a_share_of_nothing_left_is_zero_never_negative():
    assert refund_share(Money.brl("-0.01"), 2, 1) == Money.zero()
    assert refund_share(Money.brl("0.00"), 2, 2) == Money.zero()
    assert refund_share(Money.brl("0.05"), 2, 2) == Money.brl("0.05")
