"""Returns and partial refunds: within 7 days of delivery (of shipment while none is
recorded), some lines come back, are
restocked, and exactly their share (after discount) is refunded through the gateway that
captured, once. In memory (the `world` fixture); the same tests run again on PostgreSQL and
Redis from tests/integration/test_returns.py."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from application.errors import OrderNotFoundError, VersionConflictError
from domain.base import EventMetadata, event_context
from domain.money import Money
from domain.order import (
    IllegalOrderTransitionError,
    OrderStatus,
    ReturnExceedsPurchaseError,
    ReturnWindowClosedError,
)
from domain.payment import AmountExceedsAuthorizationError, payment_id_for_order
from domain.returns import IllegalReturnTransitionError, ReturnStatus
from tests.checkout import check_invariants, check_out, fill_cart, register


class Later:
    def __init__(self, days: int):
        self.at = datetime.now(tz=UTC) + timedelta(days=days)

    def now(self) -> datetime:
        return self.at


def shipped_order(world, coupon: str | None = None):
    register(world.services, "ECO-1", 10, "30.00")
    register(world.services, "ECO-2", 10, "20.00")
    register(world.services, "ECO-3", 10, "10.00")
    cart = fill_cart(world.services, {"ECO-1": 2, "ECO-2": 1, "ECO-3": 3}, customer="ana")
    if coupon:
        world.services.promotions.launch_promotion(
            code=coupon,
            description="",
            kind="percent",
            value=Decimal("10"),
            valid_from=datetime.now(tz=UTC) - timedelta(days=1),
            valid_until=datetime.now(tz=UTC) + timedelta(days=1),
        )
        world.services.checkout.apply_coupon(cart[0], cart[1], coupon)
    order_id = check_out(world.services, cart)
    world.settle()
    world.services.orders.ship_order(order_id, "Correios", "BR1")
    world.settle()
    return order_id


def test_returning_two_of_three_lines_refunds_their_share_after_discount(world):
    order_id = shipped_order(world, coupon="DEZ")  # 60 + 20 + 30 = 110, 10 % off
    result = world.services.returns.request_return(
        order_id, "ana", [("ECO-1", 2), ("ECO-3", 1)], "defeito"
    )
    return_id = result.aggregate_id
    world.services.returns.approve_return(return_id)
    world.services.returns.receive_return(return_id)
    world.settle()
    request = world.services.returns.return_of(return_id)
    assert request.status is ReturnStatus.REFUNDED
    assert [line.refund for line in request.lines] == [Money.brl("54.00"), Money.brl("9.00")]
    order = world.services.orders.order_of(order_id)
    assert order.status is OrderStatus.PARTIALLY_RETURNED
    assert order.refunded_total == Money.brl("63.00")
    payment = world.services.payments.payment(payment_id_for_order(order_id))
    assert (payment.status, payment.refunded) == ("captured", Money.brl("63.00"))
    assert world.services.catalog.stock_item("ECO-1").on_hand == 10
    assert world.services.catalog.stock_item("ECO-3").on_hand == 8
    check_invariants(world.services)


def test_returning_everything_refunds_exactly_what_was_paid(world):
    order_id = shipped_order(world, coupon="DEZ")
    first = world.services.returns.request_return(order_id, "ana", [("ECO-3", 1)], "").aggregate_id
    world.services.returns.approve_return(first)
    world.services.returns.receive_return(first)
    world.settle()
    rest = [("ECO-1", 2), ("ECO-2", 1), ("ECO-3", 2)]
    second = world.services.returns.request_return(order_id, "ana", rest, "").aggregate_id
    world.services.returns.approve_return(second)
    world.services.returns.receive_return(second)
    world.settle()
    order = world.services.orders.order_of(order_id)
    payment = world.services.payments.payment(payment_id_for_order(order_id))
    assert order.status is OrderStatus.RETURNED
    # A withdrawal of everything refunds everything paid, the shipping included (CDC art. 49).
    assert order.refunded_total == order.totals.total == payment.refunded
    check_invariants(world.services)


def test_returns_refused_late_beyond_the_purchase_unshipped_or_not_yours(world):
    order_id = shipped_order(world)
    with event_context(EventMetadata(), Later(days=8)), pytest.raises(ReturnWindowClosedError):
        world.services.returns.request_return(order_id, "ana", [("ECO-1", 1)], "")
    with pytest.raises(ReturnExceedsPurchaseError):
        world.services.returns.request_return(order_id, "ana", [("ECO-1", 3)], "")
    with pytest.raises(OrderNotFoundError):
        world.services.returns.request_return(order_id, "bia", [("ECO-1", 1)], "")
    world.services.returns.request_return(order_id, "ana", [("ECO-1", 2)], "")
    with pytest.raises(ReturnExceedsPurchaseError):  # both units are being returned already
        world.services.returns.request_return(order_id, "ana", [("ECO-1", 1)], "")
    unshipped = check_out(world.services, fill_cart(world.services, {"ECO-2": 1}, customer="ana"))
    world.settle()
    with pytest.raises(IllegalOrderTransitionError):
        world.services.returns.request_return(unshipped, "ana", [("ECO-2", 1)], "")


def test_a_rejected_return_frees_its_units_and_cannot_be_approved(world):
    order_id = shipped_order(world)
    return_id = world.services.returns.request_return(
        order_id, "ana", [("ECO-2", 1)], ""
    ).aggregate_id
    world.services.returns.reject_return(return_id, "usado")
    with pytest.raises(IllegalReturnTransitionError):
        world.services.returns.approve_return(return_id)
    world.services.returns.request_return(order_id, "ana", [("ECO-2", 1)], "")  # free again


def test_return_commands_on_a_version_no_longer_current_are_refused_and_change_nothing(world):
    order_id = shipped_order(world)
    seen = world.services.orders.order_of(order_id).version
    return_id = world.services.returns.request_return(
        order_id, "ana", [("ECO-2", 1)], "", seen
    ).aggregate_id
    with pytest.raises(VersionConflictError):  # the order moved on with that request
        world.services.returns.request_return(order_id, "ana", [("ECO-3", 1)], "", seen)
    for command in (
        lambda: world.services.returns.approve_return(return_id, expected_version=2),
        lambda: world.services.returns.reject_return(return_id, "usado", expected_version=2),
        lambda: world.services.returns.receive_return(return_id, expected_version=2),
    ):
        with pytest.raises(VersionConflictError):
            command()
    assert world.services.returns.return_of(return_id).status is ReturnStatus.REQUESTED
    assert list(world.services.orders.order_of(order_id).open_returns) == [str(return_id)]
    world.services.returns.approve_return(return_id, expected_version=1)
    world.services.returns.receive_return(return_id, expected_version=2)


def test_the_payment_itself_refuses_a_refund_over_what_is_left_of_the_capture(world):
    order_id = shipped_order(world)
    payment = world.services.payments.payment(payment_id_for_order(order_id))
    with pytest.raises(AmountExceedsAuthorizationError):
        payment.request_refund(payment.captured + Money.brl("0.01"), "too much")
