"""The saga with Pix and boleto, stepped deterministically: awaiting_payment, paid →
confirmed, expired → cancelled with stock released, paid late → refunded, a customer's
cancellation while waiting. In memory (the `world` fixture); the same tests run again on
PostgreSQL and Redis from tests/integration/test_pix_boleto_saga.py."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from uuid import UUID

import pytest

from domain.base import EcoAggregate, EventMetadata, event_context
from domain.cpf import Cpf
from domain.order import OrderStatus
from domain.payment import payment_id_for_order
from domain.payment_choice import BoletoPayment, PixPayment
from domain.stock_item import StockItem
from infrastructure.gateways.payments.sandbox import SandboxGateway
from tests.checkout import ADDRESS, fill_cart, register
from tests.worlds import World


class LaterClock:
    def __init__(self, delta: timedelta):
        self.delta = delta

    def now(self) -> datetime:
        return datetime.now(UTC) + self.delta


META = EventMetadata("test", "pix-saga", "")


def place(w: World, choice) -> UUID:
    with event_context(META):
        if w.services.store.load(EcoAggregate, StockItem.create_id("ECO-1")) is None:
            register(w.services, "ECO-1", 10)
        cart = fill_cart(w.services, {"ECO-1": 2})
        order_id = w.services.checkout.checkout(cart[0], cart[1], ADDRESS, choice).aggregate_id
        w.settle()
    return order_id


def webhook(w: World, order_id: UUID, **options):
    payment = w.services.payments.payment(payment_id_for_order(order_id))
    gateway = next(g for g in w.services.payments.gateways if g.name == payment.gateway)
    assert isinstance(gateway, SandboxGateway)
    headers, body = gateway.payer_webhook(gateway.charge(payment.charge_id), **options)
    with event_context(META):
        delivery = w.services.payments.receive_webhook("sandbox", headers, {}, body)
        w.settle()
    return delivery


def available(w: World) -> int:
    return w.services.catalog.stock_item("ECO-1").available


@pytest.mark.parametrize("choice", [PixPayment(), BoletoPayment(Cpf.parse("529.982.247-25"))])
def test_an_order_waits_for_its_payer_then_the_payment_confirms_it(world, choice):
    order_id = place(world, choice)
    assert world.services.orders.order_of(order_id).status == OrderStatus.AWAITING_PAYMENT
    assert available(world) == 8
    assert webhook(world, order_id).outcome == "applied"
    assert world.services.orders.order_of(order_id).status == OrderStatus.CONFIRMED


def test_an_unpaid_pix_expires_and_the_order_gives_its_stock_back(world):
    order_id = place(world, PixPayment())
    with event_context(META, LaterClock(timedelta(hours=1))):
        world.settle(deadlines=True)
    order = world.services.orders.order_of(order_id)
    assert (order.status, order.cancellation_reason) == ("cancelled", "payment_expired")
    assert available(world) == 10


def test_a_pix_paid_after_expiry_is_refunded(world):
    order_id = place(world, PixPayment())
    with event_context(META, LaterClock(timedelta(hours=1))):
        world.settle(deadlines=True)
    assert webhook(world, order_id).outcome == "applied"
    payment = world.services.payments.payment(payment_id_for_order(order_id))
    assert payment.status == "refunded"
    assert world.services.orders.order_of(order_id).status == OrderStatus.CANCELLED


def test_a_pix_paid_after_the_customer_cancelled_is_refunded(world):
    order_id = place(world, PixPayment())
    order = world.services.orders.order_of(order_id)
    with event_context(META):
        world.services.orders.cancel_order(order_id, order.customer_id, "changed my mind")
        world.settle()
    assert available(world) == 10
    webhook(world, order_id)
    assert world.services.payments.payment(payment_id_for_order(order_id)).status == "refunded"


def test_a_payment_of_another_amount_leaves_the_order_waiting(world):
    order_id = place(world, PixPayment())
    assert webhook(world, order_id, amount=Decimal("0.50")).outcome == "amount_mismatch"
    assert world.services.orders.order_of(order_id).status == OrderStatus.AWAITING_PAYMENT
