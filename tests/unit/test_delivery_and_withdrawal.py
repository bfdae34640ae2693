"""After shipment: the carrier's reports move the order to `delivered`; the shopper may
withdraw within 7 days of receipt (everything paid back, shipping included) or ask for a
defect return within 90 days of it. In memory (the `world` fixture)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from domain.base import EventMetadata, event_context
from domain.money import Money
from domain.order import IllegalOrderTransitionError, OrderStatus, ReturnWindowClosedError
from domain.payment import payment_id_for_order
from tests.checkout import check_invariants, check_out, fill_cart, register


class Later:
    def __init__(self, days: float):
        self.at = datetime.now(tz=UTC) + timedelta(days=days)

    def now(self) -> datetime:
        return self.at


def later(days: float):
    return event_context(EventMetadata(), Later(days))


def shipped_order(world):
    register(world.services, "ECO-1", 10, "30.00")
    register(world.services, "ECO-2", 10, "20.00")
    order_id = check_out(world.services, fill_cart(world.services, {"ECO-1": 2, "ECO-2": 1}, "ana"))
    world.settle()
    world.services.orders.ship_order(order_id, "Correios", "BR1")
    world.settle()
    return order_id


def days_from_now(days: float) -> datetime:
    return datetime.now(tz=UTC) + timedelta(days=days)


def test_carrier_reports_move_the_order_to_delivered_and_late_or_repeated_ones_are_ignored(world):
    order_id = shipped_order(world)
    assert world.services.orders.track_order(order_id, "in_transit", days_from_now(1)) is not None
    assert (
        world.services.orders.track_order(order_id, "out_for_delivery", days_from_now(2))
        is not None
    )
    # an older report arriving late is recorded nowhere and changes nothing
    assert world.services.orders.track_order(order_id, "in_transit", days_from_now(1.5)) is None
    assert world.services.orders.track_order(order_id, "delivered", days_from_now(2.5)) is not None
    assert world.services.orders.track_order(order_id, "delivered", days_from_now(2.5)) is None
    assert world.services.orders.track_order(order_id, "in_transit", days_from_now(3)) is None
    order = world.services.orders.order_of(order_id)
    assert order.status is OrderStatus.DELIVERED
    assert [step for step, _ in order.tracking] == ["in_transit", "out_for_delivery", "delivered"]


def test_an_order_not_shipped_cannot_be_tracked(world):
    register(world.services, "ECO-1", 10, "30.00")
    order_id = check_out(world.services, fill_cart(world.services, {"ECO-1": 1}, "ana"))
    world.settle()
    with pytest.raises(IllegalOrderTransitionError):
        world.services.orders.track_order(order_id, "delivered", days_from_now(1))


def test_a_withdrawal_on_day_six_after_delivery_refunds_everything_paid_shipping_included(world):
    order_id = shipped_order(world)
    world.services.orders.track_order(order_id, "delivered", days_from_now(5))  # a slow parcel
    with later(5 + 6):  # day 11 after shipment, day 6 after receipt
        return_id = world.services.returns.request_return(
            order_id, "ana", [("ECO-1", 2), ("ECO-2", 1)], ""
        ).aggregate_id
    world.services.returns.approve_return(return_id)
    world.services.returns.receive_return(return_id)
    world.settle()
    order = world.services.orders.order_of(order_id)
    payment = world.services.payments.payment(payment_id_for_order(order_id))
    assert order.totals.shipping.is_positive  # 80.00 is below free shipping
    assert order.refunded_total == order.totals.total == payment.refunded
    assert world.services.returns.return_of(return_id).shipping_refund == order.totals.shipping
    check_invariants(world.services)


def test_a_partial_withdrawal_keeps_the_shipping_until_the_last_units_go_back(world):
    order_id = shipped_order(world)
    first = world.services.returns.request_return(order_id, "ana", [("ECO-2", 1)], "").aggregate_id
    assert world.services.returns.return_of(first).shipping_refund == Money.zero()
    second = world.services.returns.request_return(order_id, "ana", [("ECO-1", 2)], "").aggregate_id
    order = world.services.orders.order_of(order_id)
    assert world.services.returns.return_of(second).shipping_refund == order.totals.shipping


def test_a_withdrawal_on_day_eight_after_delivery_is_refused_with_the_reason(world):
    order_id = shipped_order(world)
    world.services.orders.track_order(order_id, "delivered", days_from_now(1))
    with later(1 + 8), pytest.raises(ReturnWindowClosedError) as refused:
        world.services.returns.request_return(order_id, "ana", [("ECO-1", 1)], "")
    message = str(refused.value)
    assert "delivered on" in message
    assert "withdrawal" in message
    assert "defect" in message
    assert world.services.orders.order_of(order_id).return_ids == []


def test_a_defect_return_on_day_twenty_is_accepted_without_a_shipping_refund(world):
    order_id = shipped_order(world)
    world.services.orders.track_order(order_id, "delivered", days_from_now(1))
    with later(1 + 20):
        result = world.services.returns.request_return(
            order_id, "ana", [("ECO-1", 2), ("ECO-2", 1)], "costura aberta", kind="defect"
        )
    request = world.services.returns.return_of(result.aggregate_id)
    assert request.kind == "defect"
    assert request.shipping_refund == Money.zero()


def test_a_defect_return_waits_for_delivery_and_closes_after_ninety_days(world):
    order_id = shipped_order(world)
    with pytest.raises(ReturnWindowClosedError, match="not delivered yet"):
        world.services.returns.request_return(order_id, "ana", [("ECO-1", 1)], "", kind="defect")
    world.services.orders.track_order(order_id, "delivered", days_from_now(1))
    with later(1 + 89):
        world.services.returns.request_return(order_id, "ana", [("ECO-2", 1)], "", kind="defect")
    with later(1 + 91), pytest.raises(ReturnWindowClosedError, match="90 days"):
        world.services.returns.request_return(order_id, "ana", [("ECO-1", 1)], "", kind="defect")
