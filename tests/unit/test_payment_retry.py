"""Another try at paying (issue 27, item 4), stepped deterministically: a declined card or an
expired Pix leaves the order awaiting_payment with its stock held; a new card, Pix or boleto
confirms the same order; a second try while one is under way, or after the deadline, is
refused; at the deadline the order is cancelled and its stock released. In memory (the
`world` fixture); tests/integration runs them again on PostgreSQL and Redis."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import UUID

import pytest

from application.checkout.effects import effects_of
from domain.base import EventMetadata, event_context
from domain.cpf import Cpf
from domain.order import (
    Order,
    OrderStatus,
    PaymentAttemptPendingError,
    PaymentMethod,
    PaymentWindowClosedError,
)
from domain.payment import Payment, payment_id_for_order
from domain.payment_choice import BoletoPayment, PixPayment
from domain.personal import PersonalData
from domain.stock_item import StockItem
from infrastructure.gateways.payments.sandbox import SandboxGateway
from tests.checkout import ADDRESS, APPROVED, DECLINED, card, fill_cart, register

META = EventMetadata("test", "payment-retry", "")
RETRY_S = 3600


class LaterClock:
    def __init__(self, delta: timedelta):
        self.delta = delta

    def now(self) -> datetime:
        return datetime.now(UTC) + self.delta


@pytest.fixture
def retrying(world):
    world.saga.payment_retry_s = RETRY_S
    return world


def place(w, choice) -> tuple[UUID, str]:
    with event_context(META):
        if w.services.store.load(StockItem, StockItem.create_id("ECO-1")) is None:
            register(w.services, "ECO-1", 10)
        cart = fill_cart(w.services, {"ECO-1": 2})
        order_id = w.services.checkout.checkout(cart[0], cart[1], ADDRESS, choice).aggregate_id
        w.settle()
    return order_id, cart[1]


def retry(w, order_id: UUID, customer: str, choice) -> UUID:
    with event_context(META):
        _, payment_id = w.services.checkout.retry_payment(order_id, customer, choice)
        w.settle()
    return payment_id


def pay(w, payment_id: UUID) -> str:
    payment = w.services.payments.payment(payment_id)
    gateway = next(g for g in w.services.payments.gateways if g.name == payment.gateway)
    assert isinstance(gateway, SandboxGateway)
    headers, body = gateway.payer_webhook(gateway.charge(payment.charge_id))
    with event_context(META):
        delivery = w.services.payments.receive_webhook("sandbox", headers, {}, body)
        w.settle()
    return delivery.outcome


def available(w) -> int:
    return w.services.catalog.stock_item("ECO-1").available


def test_a_declined_card_leaves_the_order_awaiting_payment_with_its_stock_held(retrying):
    order_id, _ = place(retrying, card(DECLINED))
    order = retrying.services.orders.order_of(order_id)
    assert order.status == OrderStatus.AWAITING_PAYMENT
    assert order.payment_failure == "payment_declined"
    assert order.retry_until is not None
    assert available(retrying) == 8


def test_a_declined_card_then_a_new_card_confirms_the_same_order(retrying):
    order_id, customer = place(retrying, card(DECLINED))
    payment_id = retry(retrying, order_id, customer, card(APPROVED))
    assert payment_id == payment_id_for_order(order_id, 2) != payment_id_for_order(order_id)
    order = retrying.services.orders.order_of(order_id)
    assert (order.status, order.payment_id, order.payment_attempt) == ("confirmed", payment_id, 2)
    assert retrying.services.payments.payment(payment_id_for_order(order_id)).status == "declined"
    assert retrying.services.payments.payment(payment_id).status == "authorized"
    assert available(retrying) == 8


@pytest.mark.parametrize("choice", [PixPayment(), BoletoPayment(Cpf.parse("529.982.247-25"))])
def test_a_declined_card_then_a_pix_or_boleto_paid_confirms_the_same_order(retrying, choice):
    order_id, customer = place(retrying, card(DECLINED))
    payment_id = retry(retrying, order_id, customer, choice)
    assert retrying.services.orders.order_of(order_id).status == OrderStatus.AWAITING_PAYMENT
    assert available(retrying) == 8
    assert pay(retrying, payment_id) == "applied"
    assert retrying.services.orders.order_of(order_id).status == OrderStatus.CONFIRMED


def test_a_second_try_while_one_is_under_way_is_refused(retrying):
    order_id, customer = place(retrying, card(DECLINED))
    retry(retrying, order_id, customer, PixPayment())  # issued: the payer has it
    with pytest.raises(PaymentAttemptPendingError), event_context(META):
        retrying.services.checkout.retry_payment(order_id, customer, card(APPROVED))
    assert retrying.services.orders.order_of(order_id).payment_attempt == 2


def test_an_order_whose_payment_did_not_fail_takes_no_other_payment(retrying):
    order_id, customer = place(retrying, card(APPROVED))
    with pytest.raises(PaymentAttemptPendingError, match="confirmed"), event_context(META):
        retrying.services.checkout.retry_payment(order_id, customer, PixPayment())


def test_someone_elses_order_is_not_found(retrying):
    order_id, _ = place(retrying, card(DECLINED))
    with pytest.raises(Exception, match="no order"), event_context(META):
        retrying.services.checkout.retry_payment(order_id, "someone-else", PixPayment())


def test_at_the_deadline_the_order_is_cancelled_for_its_failure_and_its_stock_released(
    retrying,
):
    order_id, _ = place(retrying, card(DECLINED))
    with event_context(META, LaterClock(timedelta(seconds=RETRY_S + 1))):
        retrying.settle(deadlines=True)
    order = retrying.services.orders.order_of(order_id)
    assert (order.status, order.cancellation_reason) == ("cancelled", "payment_declined")
    assert available(retrying) == 10


def test_a_try_after_the_deadline_is_refused_with_the_deadline(retrying):
    order_id, customer = place(retrying, card(DECLINED))
    with (
        pytest.raises(PaymentWindowClosedError, match="waited for another payment until"),
        event_context(META, LaterClock(timedelta(seconds=RETRY_S + 1))),
    ):
        retrying.services.checkout.retry_payment(order_id, customer, card(APPROVED))


def test_a_second_decline_keeps_the_first_deadline(retrying):
    order_id, customer = place(retrying, card(DECLINED))
    first = retrying.services.orders.order_of(order_id).retry_until
    with event_context(META, LaterClock(timedelta(minutes=10))):
        retrying.services.checkout.retry_payment(order_id, customer, card(DECLINED))
        retrying.settle()
    order = retrying.services.orders.order_of(order_id)
    assert (order.status, order.payment_attempt) == ("awaiting_payment", 2)
    assert order.retry_until == first


def test_the_checkout_deadline_does_not_cancel_a_later_try(retrying):
    """The placement's `expire_order` (attempt 1) runs while attempt 2 is pending: nothing."""
    order_id, customer = place(retrying, card(DECLINED))
    with event_context(META):
        retrying.services.checkout.retry_payment(
            order_id, customer, card(APPROVED)
        )  # not settled yet
        assert retrying.services.orders.expire_order(order_id, "1") is None
    assert retrying.services.orders.order_of(order_id).status == OrderStatus.PENDING


def test_an_expired_pix_leaves_the_order_for_another_try_and_its_late_payment_goes_back(
    retrying,
):
    order_id, customer = place(retrying, PixPayment())
    with event_context(META, LaterClock(timedelta(minutes=31))):
        retrying.settle(deadlines=True)
    order = retrying.services.orders.order_of(order_id)
    assert (order.status, order.payment_failure) == ("awaiting_payment", "payment_expired")
    assert pay(retrying, payment_id_for_order(order_id)) == "applied"  # paid too late
    assert retrying.services.payments.payment(payment_id_for_order(order_id)).status == "refunded"
    assert retrying.services.orders.order_of(order_id).status == OrderStatus.AWAITING_PAYMENT
    retry(retrying, order_id, customer, card(APPROVED))
    assert retrying.services.orders.order_of(order_id).status == OrderStatus.CONFIRMED


def test_a_cancellation_while_waiting_for_another_try_releases_the_stock(retrying):
    order_id, customer = place(retrying, card(DECLINED))
    with event_context(META):
        retrying.services.orders.cancel_order(order_id, customer, "desisti")
        retrying.settle()
    order = retrying.services.orders.order_of(order_id)
    assert (order.status, order.cancellation_reason) == ("cancelled", "customer_request")
    assert available(retrying) == 10


def test_without_a_retry_window_a_decline_cancels_as_before(world):
    order_id, _ = place(world, card(DECLINED))
    order = world.services.orders.order_of(order_id)
    assert (order.status, order.cancellation_reason) == ("cancelled", "payment_declined")
    assert available(world) == 10


def test_an_earlier_attempt_never_confirms_the_order():
    order = Order.place(
        customer_id="c",
        cart_id=UUID(int=1),
        lines=[],
        shipping_address=_address(),
        payment_method=_card_method(),
    )
    order.mark_stock_reserved()
    now = datetime.now(UTC)
    assert order.hold_for_retry(order.current_payment_id, "payment_declined", timedelta(1), now)
    order.retry_payment(_card_method(), None, now)
    assert order.waits_for(payment_id_for_order(order.id, 2))
    assert not order.waits_for(payment_id_for_order(order.id))


def test_no_retry_past_the_window_means_cancel():
    order = Order.place(
        customer_id="c",
        cart_id=UUID(int=2),
        lines=[],
        shipping_address=_address(),
        payment_method=_card_method(),
    )
    order.mark_stock_reserved()
    now = datetime.now(UTC)
    assert not order.hold_for_retry(order.current_payment_id, "payment_declined", timedelta(0), now)
    assert order.status == OrderStatus.PENDING


def _address() -> PersonalData:
    return PersonalData("c", ADDRESS.to_dict())


def _card_method() -> PaymentMethod:
    return PaymentMethod("card", "tok", "visa", "4242")


def test_payment_ids_per_attempt_are_stable_and_distinct():
    order_id = UUID(int=3)
    ids = {payment_id_for_order(order_id, n) for n in (1, 2, 3)}
    assert len(ids) == 3
    assert payment_id_for_order(order_id) == Payment.create_id(order_id)


def test_the_shopper_is_told_of_a_failed_payment_and_of_each_step_of_the_parcel():
    failed = Order.PaymentFailed(
        originator_id=UUID(int=5),
        originator_version=4,
        timestamp=datetime.now(UTC),
        payment_id=UUID(int=6),
        attempt=1,
        reason="payment_declined",
        retry_until=datetime.now(UTC),
    )
    told = [(e.action, e.args[1:]) for e in effects_of(failed, {})]
    assert ("notify_order", ("payment_failed",)) in told
    assert ("close_payment_retry", ()) in told
    step = Order.TrackingUpdated(
        originator_id=UUID(int=5),
        originator_version=9,
        timestamp=datetime.now(UTC),
        step="in_transit",
        at=datetime.now(UTC),
    )
    assert [(e.action, e.args[1:]) for e in effects_of(step, {})] == [
        ("notify_order", ("order_tracking",))
    ]
