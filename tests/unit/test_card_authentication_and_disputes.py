"""The Payment's 3-D Secure and dispute rules, and the order waiting for authentication."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import uuid4

import pytest

from application.authentication_notes import apply_authentication, apply_dispute
from application.ports import DisputeNote, GatewayNotification
from domain.money import Money
from domain.order import IllegalOrderTransitionError, OrderStatus
from domain.payment import AWAITING_ACTION, IllegalPaymentTransitionError, Payment
from tests.unit.test_order_and_payment import make_order

DUE = datetime(2030, 1, 10, tzinfo=UTC)


def card_payment(amount: str = "100.00") -> Payment:
    return Payment(uuid4(), "c1", Money.brl(amount), "tok", "visa", "4242")


def waiting() -> Payment:
    payment = card_payment()
    payment.require_action("stripe", "pi_1", DUE)
    return payment


def captured() -> Payment:
    payment = card_payment()
    payment.authorize("stripe", "pi_1", Money.brl("100.00"))
    payment.request_capture(Money.brl("100.00"))
    payment.capture()
    return payment


def note(
    status: str, charge: str = "pi_1", dispute: DisputeNote | None = None
) -> GatewayNotification:
    return GatewayNotification("stripe", str(uuid4()), status, charge, "", None, dispute=dispute)


def test_a_payment_waiting_for_its_shopper_is_authorized_only_for_its_own_authorization():
    payment = waiting()
    assert payment.status == AWAITING_ACTION
    with pytest.raises(IllegalPaymentTransitionError):
        payment.authorize("stripe", "pi_other", Money.brl("100.00"))
    assert apply_authentication(payment, note("authorized", "pi_other")) == "ignored"
    assert apply_authentication(payment, note("authorized")) == "applied"
    assert payment.status == "authorized"


def test_a_failed_or_abandoned_authentication_declines_or_expires():
    failed = waiting()
    assert apply_authentication(failed, note("failed")) == "applied"
    assert failed.status == "declined"
    abandoned = waiting()
    abandoned.expire()
    assert abandoned.status == "expired"
    with pytest.raises(IllegalPaymentTransitionError):  # only a requested payment asks
        captured().require_action("stripe", "pi", DUE)


def test_the_order_waits_for_authentication_then_confirms_or_is_cancelled():
    order = make_order()
    with pytest.raises(IllegalOrderTransitionError):
        order.await_authentication(uuid4())  # no stock reserved yet
    order.mark_stock_reserved()
    order.await_authentication(uuid4())
    assert order.status == OrderStatus.AWAITING_AUTHENTICATION
    order.cancel("payment_expired")
    assert order.status == OrderStatus.CANCELLED


def dispute(status: str, amount: str = "100.00", due: datetime | None = DUE) -> GatewayNotification:
    return note("dispute", dispute=DisputeNote("dp_1", status, Money.brl(amount), "fraud", due))


def test_a_lost_dispute_refunds_in_the_books_once():
    payment = captured()
    assert apply_dispute(payment, dispute("opened")) == "applied"
    assert apply_dispute(payment, dispute("opened")) == "ignored"  # a repeat
    assert apply_dispute(payment, dispute("evidence_due", due=DUE + timedelta(days=1))) == "applied"
    assert apply_dispute(payment, dispute("lost")) == "applied"
    assert (payment.status, payment.refunded) == ("refunded", Money.brl("100.00"))
    assert apply_dispute(payment, dispute("won")) == "ignored"  # closed already
    assert payment.disputes == {"dp_1": "lost"}


def test_a_won_dispute_leaves_the_money_and_odd_ones_are_ignored():
    payment = captured()
    assert apply_dispute(payment, dispute("won")) == "applied"  # the close came first
    assert (payment.status, payment.refunded) == ("captured", Money.zero())
    assert apply_dispute(card_payment(), dispute("opened")) == "ignored"  # nothing captured
    other = GatewayNotification(
        "stripe", "e", "dispute", "pi_9", "", None, dispute=dispute("opened").dispute
    )
    assert apply_dispute(captured(), other) == "ignored"  # another authorization
    assert apply_dispute(captured(), dispute("opened", amount="500.00")) == "ignored"


def test_a_lost_dispute_after_a_partial_refund_takes_only_what_is_left():
    payment = captured()
    payment.request_refund(Money.brl("30.00"), "return")
    payment.refund()
    assert apply_dispute(payment, dispute("lost")) == "applied"
    assert payment.refunded == Money.brl("100.00")
