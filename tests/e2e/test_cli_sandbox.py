"""`ecovarejo sandbox pay`, as a user runs it beside a running system."""

from __future__ import annotations

import time
from uuid import UUID, uuid4

from application.services import Services
from domain.base import EcoAggregate, EventMetadata, event_context
from domain.order import OrderStatus
from domain.payment import ISSUED, payment_id_for_order
from domain.payment_choice import PixPayment
from domain.stock_item import StockItem
from tests.checkout import ADDRESS, APPROVED, fill_cart, register
from tests.e2e.test_cli import clean_env, run


def env_of(settings) -> dict[str, str]:
    return clean_env(
        DATABASE_URL=settings.database_url or "",
        REDIS_URL=settings.redis_url or "",
        ECOVAREJO_JWT_SECRET="s" * 40,
        ECOVAREJO_DATA_DIR=str(settings.data_dir),
    )


def until(check, timeout_s: float = 20):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.05)
    raise AssertionError("timed out")


def pix_order(services: Services) -> UUID:
    with event_context(EventMetadata("test", "cli-sandbox", "")):
        if services.store.load(EcoAggregate, StockItem.create_id("ECO-PIX")) is None:
            register(services, "ECO-PIX", 5)
        cart_id, customer = fill_cart(services, {"ECO-PIX": 1})
        return services.checkout.checkout(cart_id, customer, ADDRESS, PixPayment()).aggregate_id


def test_sandbox_pay_confirms_a_pix_order_and_expire_cancels_another(container, settings):
    services = container.services
    order_id = pix_order(services)
    payment_id = payment_id_for_order(order_id)
    until(
        lambda: (
            services.store.load(EcoAggregate, payment_id) is not None
            and services.payments.payment(payment_id).status == ISSUED
        )
    )
    paid = run("sandbox", "pay", str(payment_id), env=env_of(settings))
    assert paid.returncode == 0, paid.stderr
    assert paid.stdout.strip() == f"paid {payment_id}: applied"
    until(lambda: services.orders.order_of(order_id).status == OrderStatus.CONFIRMED)

    second = pix_order(services)
    second_payment = payment_id_for_order(second)
    until(
        lambda: (
            services.store.load(EcoAggregate, second_payment) is not None
            and services.payments.payment(second_payment).status == ISSUED
        )
    )
    expired = run("sandbox", "pay", str(second_payment), "--expire", env=env_of(settings))
    assert expired.returncode == 0, expired.stderr
    order = until(
        lambda: (o := services.orders.order_of(second)).status == OrderStatus.CANCELLED and o
    )
    assert order.cancellation_reason == "payment_expired"


def test_sandbox_pay_refuses_bad_input_with_one_line(container, settings):
    env = env_of(settings)
    not_uuid = run("sandbox", "pay", "abc", env=env)
    assert not_uuid.returncode == 2
    assert not_uuid.stderr.strip() == "error: PAYMENT_ID must be a UUID, got 'abc'"
    unknown = run("sandbox", "pay", str(uuid4()), env=env)
    assert unknown.returncode == 2
    assert unknown.stderr.strip().startswith("error: no payment")
    with event_context(EventMetadata("test", "cli-sandbox", "")):
        register(container.services, "ECO-CARD", 5)
        cart_id, customer = fill_cart(container.services, {"ECO-CARD": 1})
        from tests.checkout import card

        order_id = container.services.checkout.checkout(
            cart_id, customer, ADDRESS, card(APPROVED)
        ).aggregate_id
    payment_id = payment_id_for_order(order_id)
    until(lambda: container.services.store.load(EcoAggregate, payment_id) is not None)
    by_card = run("sandbox", "pay", str(payment_id), env=env)
    assert by_card.returncode == 2
    assert "is a card payment, not Pix or boleto" in by_card.stderr
