"""Whatever quantities come back, in whatever order, with returns rejected on the way, a
line's refunds never go below zero and, once every unit is back, add up to its net to the
centavo; and the order's refunded total is always the sum of its refunds."""

from __future__ import annotations

import uuid
from datetime import timedelta
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from domain.base import now
from domain.money import Money
from domain.order import Order, OrderLine, PaymentMethod
from domain.personal import PersonalData

cents = st.integers(min_value=1, max_value=50_000).map(lambda c: Decimal(c) / 100)


@st.composite
def orders(draw: st.DrawFn) -> list[OrderLine]:
    lines = []
    for index in range(draw(st.integers(min_value=1, max_value=3))):
        quantity = draw(st.integers(min_value=1, max_value=9))
        price = draw(cents)
        gross = int(price * quantity * 100)
        # Nets of a few centavos over many units are where rounding bites: drawn often.
        net = draw(st.integers(0, min(gross, 40)) | st.integers(0, gross))
        discount = Decimal(gross - net) / 100
        lines.append(
            OrderLine(f"ECO-{index}", "x", quantity, Money(price), Decimal("1"), Money(discount))
        )
    return lines


def shipped(lines: list[OrderLine]) -> Order:
    order = Order.place(
        customer_id="ana",
        cart_id=uuid.uuid4(),
        lines=lines,
        shipping_address=PersonalData("ana", {"city": "Recife"}),
        payment_method=PaymentMethod("card", "t", "visa", "4242"),
    )
    order.mark_stock_reserved()
    order.confirm(uuid.uuid4())
    order.ship("Correios", "BR1")
    return order


@settings(max_examples=200, deadline=None)
@given(orders(), st.data())
def test_refunds_of_random_returns_in_random_orders_add_up_to_each_line_net(lines, data):
    order = shipped(lines)
    refunded: dict[str, Decimal] = {ln.sku: Decimal("0") for ln in lines}
    at = now() + timedelta(days=1)
    while any(order.units_out(ln.sku) < ln.quantity for ln in lines):
        open_skus = [ln for ln in lines if order.units_out(ln.sku) < ln.quantity]
        line = data.draw(st.sampled_from(open_skus))
        left = line.quantity - order.units_out(line.sku)
        quantity = data.draw(st.integers(min_value=1, max_value=left))
        quoted = order.quote_return([(line.sku, quantity)], at)
        assert all(q.refund.amount >= 0 for q in quoted)
        return_id = uuid.uuid4()
        order.open_return(return_id, quoted)
        if data.draw(st.integers(min_value=0, max_value=4), label="reject") == 4:
            order.close_return(return_id)  # rejected: these units may come back again
            continue
        order.complete_return(return_id)
        refunded[line.sku] += quoted[0].refund.amount
        assert order.refunded_total.amount == sum(refunded.values(), Decimal("0"))
    for ln in lines:
        assert refunded[ln.sku] == ln.net.amount, ln
    assert order.refunded_total == sum((ln.net for ln in lines), Money.zero())
