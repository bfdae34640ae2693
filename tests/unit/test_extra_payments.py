"""Every extra payment goes back (issue 21): a Pix or boleto paid again once paid (two
signed `charge.paid` deliveries with different ids, a second `sandbox pay`), paid after
expiry, or paid for an order given up, is refunded automatically and flagged for an admin
— and the order keeps the one payment it wanted. Stepped deterministically in memory (the
`world` fixture); again on PostgreSQL and Redis from tests/integration/."""

from __future__ import annotations

from datetime import timedelta

import pytest

from domain.cpf import Cpf
from domain.money import Money
from domain.order import OrderStatus
from domain.payment import CAPTURED, REFUNDED, Payment, payment_id_for_order
from domain.payment_choice import BoletoPayment, PixPayment
from infrastructure.gateways.payments.sandbox import SandboxGateway
from tests.unit.test_pix_boleto_saga import META, LaterClock, event_context, place, webhook

CHOICES = [PixPayment(), BoletoPayment(Cpf.parse("529.982.247-25"))]


def payment_of(world, order_id) -> Payment:
    return world.services.payments.payment(payment_id_for_order(order_id))


def ledger(world, payment: Payment) -> list[dict]:
    gateway = next(g for g in world.services.payments.gateways if g.name == payment.gateway)
    assert isinstance(gateway, SandboxGateway)
    return gateway.ledger()


def kinds(world, payment: Payment) -> list[str]:
    return [type(e).__name__ for e in world.services.store.events.get(payment.id)]


@pytest.mark.parametrize("choice", CHOICES, ids=["pix", "boleto"])
def test_a_charge_paid_twice_refunds_the_second_payment_and_flags_it(world, choice):
    order_id = place(world, choice)
    assert webhook(world, order_id).outcome == "applied"
    assert webhook(world, order_id).outcome == "extra_payment"  # another delivery id
    payment = payment_of(world, order_id)
    assert payment.status == CAPTURED  # the order keeps the payment it wanted
    assert payment.captured == payment.amount
    assert payment.extra_payments == {}
    assert list(payment.extra_refunded.values()) == [payment.amount]
    assert kinds(world, payment).count("ExtraPaymentReceived") == 1
    refunds = [row for row in ledger(world, payment) if row["op"] == "refund"]
    assert [Money.brl(row["amount"]) for row in refunds] == [payment.amount]
    assert world.services.orders.order_of(order_id).status == OrderStatus.CONFIRMED


def test_the_same_extra_delivery_repeated_changes_nothing_twice(world):
    order_id = place(world, PixPayment())
    webhook(world, order_id)
    payment = world.services.payments.payment(payment_id_for_order(order_id))
    gateway = next(g for g in world.services.payments.gateways if g.name == payment.gateway)
    headers, body = gateway.payer_webhook(gateway.charge(payment.charge_id))
    with event_context(META):
        outcomes = [
            world.services.payments.receive_webhook("sandbox", headers, {}, body).outcome
            for _ in "ab"
        ]
        world.settle()
    assert outcomes == ["extra_payment", "extra_payment"]
    payment = payment_of(world, order_id)
    assert kinds(world, payment).count("ExtraPaymentReceived") == 1
    assert len([row for row in ledger(world, payment) if row["op"] == "refund"]) == 1


def test_three_payments_of_one_charge_give_two_back_each_once(world):
    order_id = place(world, PixPayment())
    outcomes = [webhook(world, order_id).outcome for _ in range(3)]
    assert outcomes == ["applied", "extra_payment", "extra_payment"]
    payment = payment_of(world, order_id)
    assert len(payment.extra_refunded) == 2
    assert len([row for row in ledger(world, payment) if row["op"] == "refund"]) == 2
    assert payment.captured == payment.amount
    assert payment.status == CAPTURED


def test_a_payment_after_expiry_is_refunded_and_flagged_and_a_second_one_too(world):
    order_id = place(world, PixPayment())
    with event_context(META, LaterClock(timedelta(hours=1))):
        world.settle(deadlines=True)
    assert webhook(world, order_id).outcome == "applied"
    payment = payment_of(world, order_id)
    assert payment.status == REFUNDED
    assert "UnwantedPaymentFlagged" in kinds(world, payment)
    assert webhook(world, order_id).outcome == "extra_payment"
    payment = payment_of(world, order_id)
    assert payment.extra_payments == {}
    assert len(payment.extra_refunded) == 1
    assert len([row for row in ledger(world, payment) if row["op"] == "refund"]) == 2
    assert world.services.orders.order_of(order_id).status == OrderStatus.CANCELLED


def test_a_payment_for_an_order_the_customer_cancelled_is_refunded_and_flagged(world):
    order_id = place(world, PixPayment())
    with event_context(META):
        world.services.orders.cancel_order(
            order_id, world.services.orders.order_of(order_id).customer_id, ""
        )
        world.settle()
    assert webhook(world, order_id).outcome == "applied"
    payment = payment_of(world, order_id)
    assert payment.status == REFUNDED
    assert "UnwantedPaymentFlagged" in kinds(world, payment)
