from decimal import Decimal
from uuid import uuid4

import pytest

from domain.money import Money
from domain.order import (
    IllegalOrderTransitionError,
    Order,
    OrderLine,
    PaymentMethod,
    UnknownCancellationReasonError,
    price_order,
)
from domain.payment import (
    AmountExceedsAuthorizationError,
    IllegalPaymentTransitionError,
    Payment,
)
from domain.personal import PersonalData


def line(price: str, quantity: int, co2: str = "1.0") -> OrderLine:
    return OrderLine("ECO-1", "A", quantity, Money.brl(price), Decimal(co2))


def make_order(*lines: OrderLine) -> Order:
    return Order.place(
        customer_id="c1",
        cart_id=uuid4(),
        lines=list(lines) or [line("10", 1)],
        shipping_address=PersonalData("c1", {"city": "Recife"}),
        payment_method=PaymentMethod("card", "t", "visa", "4242"),
    )


def test_charges_shipping_below_the_free_shipping_threshold():
    totals = price_order([line("50.00", 2)])
    assert totals.shipping == Money.brl("19.90")
    assert totals.total == Money.brl("119.90")


def test_ships_free_from_the_threshold():
    totals = price_order([line("199.00", 1)])
    assert totals.shipping == Money.zero()
    assert totals.total == Money.brl("199.00")


def test_order_footprint_is_the_sum_over_units():
    order = make_order(line("10", 3, "0.5"), line("5", 2, "1.25"))
    assert order.carbon_footprint_kg == Decimal("4.0")


def test_runs_pending_confirmed_shipped():
    order = make_order()
    order.mark_stock_reserved()
    order.confirm(uuid4())
    order.ship("Correios", "BR123")
    assert order.status == "shipped"


def test_refuses_confirming_without_stock():
    with pytest.raises(IllegalOrderTransitionError):
        make_order().confirm(uuid4())


def test_refuses_cancelling_a_shipped_order():
    order = make_order()
    order.mark_stock_reserved()
    order.confirm(uuid4())
    order.ship("Correios", "BR123")
    with pytest.raises(IllegalOrderTransitionError):
        order.cancel("customer_request")


def test_refuses_shipping_a_cancelled_order():
    order = make_order()
    order.cancel("payment_declined")
    with pytest.raises(IllegalOrderTransitionError):
        order.ship("Correios", "BR123")
    assert order.cancellation_reason == "payment_declined"


def test_refuses_unknown_cancellation_reasons():
    with pytest.raises(UnknownCancellationReasonError):
        make_order().cancel("because")


def make_payment(amount: str = "100.00") -> Payment:
    return Payment(
        order_id=uuid4(),
        customer_id="c1",
        amount=Money.brl(amount),
        token="tok",
        brand="visa",
        last4="4242",
    )


def test_refuses_authorizing_more_than_requested():
    with pytest.raises(AmountExceedsAuthorizationError):
        make_payment("10.00").authorize("primary", "auth-1", Money.brl("10.01"))


def test_refuses_capturing_more_than_authorized_and_refunding_more_than_captured():
    payment = make_payment("100.00")
    payment.authorize("primary", "auth-1", Money.brl("100.00"))
    with pytest.raises(AmountExceedsAuthorizationError):
        payment.request_capture(Money.brl("100.01"))
    payment.request_capture(Money.brl("100.00"))
    payment.capture()
    with pytest.raises(AmountExceedsAuthorizationError):
        payment.request_refund(Money.brl("100.01"), "return")
    payment.request_refund(Money.brl("100.00"), "return")
    payment.refund()
    assert payment.status == "refunded"
    assert not payment.holds_money


def test_refuses_voiding_a_captured_payment():
    payment = make_payment()
    payment.authorize("primary", "a", Money.brl("100.00"))
    payment.request_capture(Money.brl("100.00"))
    with pytest.raises(IllegalPaymentTransitionError):
        payment.request_void("too late")
    payment.capture()
    with pytest.raises(IllegalPaymentTransitionError):
        payment.request_void("too late")


def test_gives_back_by_voiding_an_authorization_once():
    payment = make_payment()
    payment.authorize("primary", "a", Money.brl("100.00"))
    payment.give_back("customer_request")
    payment.give_back("customer_request")
    payment.void()
    assert payment.status == "voided"
    assert not payment.holds_money
    assert [type(e).__name__ for e in payment.collect_events()][-2:] == [
        "VoidRequested",
        "Voided",
    ]


def test_refuses_an_outcome_that_was_not_requested():
    payment = make_payment()
    payment.authorize("primary", "a", Money.brl("100.00"))
    with pytest.raises(IllegalPaymentTransitionError):
        payment.capture()


def test_records_gateway_failures_before_a_decision():
    payment = make_payment()
    payment.record_gateway_failure("primary", "timeout", give_up=False)
    payment.record_gateway_failure("primary", "processing_error", give_up=True)
    payment.authorize("secondary", "a", Money.brl("100.00"))
    assert payment.gateway_failures == {"primary": 2}
    assert payment.abandoned_gateways == ["primary"]
    assert payment.gateway == "secondary"


def test_order_and_payment_ids_derive_from_cart_and_order():
    order = make_order()
    assert order.id == Order.create_id(order.cart_id)
    payment = Payment(
        order_id=order.id,
        customer_id="c1",
        amount=Money.brl("1.00"),
        token="t",
        brand="visa",
        last4="4242",
    )
    assert payment.id == Payment.create_id(order.id)
