"""A customer charged twice is refunded and the payment flagged, whatever the route (issue
21): `sandbox pay` run twice beside a running system; the second is recorded as an extra
payment, the workers give it back, and an admin sees the flag on the payment."""

from __future__ import annotations

from fastapi.testclient import TestClient

from api.http.app import create_app
from api.http.auth import issue_token
from domain.base import EcoAggregate
from domain.order import OrderStatus
from domain.payment import CAPTURED, ISSUED, payment_id_for_order
from tests.conftest import JWT_SECRET
from tests.e2e.test_cli import run
from tests.e2e.test_cli_sandbox import env_of, pix_order, until


def test_sandbox_pay_twice_refunds_the_second_payment_and_flags_it(container, settings):
    services = container.services
    order_id = pix_order(services)
    payment_id = payment_id_for_order(order_id)
    until(
        lambda: (
            services.store.load(EcoAggregate, payment_id) is not None
            and services.payments.payment(payment_id).status == ISSUED
        )
    )
    first = run("sandbox", "pay", str(payment_id), env=env_of(settings))
    assert first.stdout.strip() == f"paid {payment_id}: applied", first.stderr
    second = run("sandbox", "pay", str(payment_id), env=env_of(settings))
    assert second.stdout.strip() == f"paid {payment_id}: extra_payment", second.stderr
    payment = until(lambda: (p := services.payments.payment(payment_id)).extra_refunded and p)
    assert list(payment.extra_refunded.values()) == [payment.amount]
    assert (payment.status, payment.captured) == (CAPTURED, payment.amount)
    until(lambda: services.orders.order_of(order_id).status == OrderStatus.CONFIRMED)
    admin = {"Authorization": f"Bearer {issue_token(JWT_SECRET, 'adm', 'admin', 600)}"}
    with TestClient(create_app(container)) as client:
        view = until(
            lambda: (
                (r := client.get(f"/api/v1/payments/{payment_id}", headers=admin).json())
                and r.get("extra_refunded")
                and r
            )
        )
    assert view["flagged"] == 1
    assert view["extra_received"] == view["extra_refunded"] == view["amount"]
    assert view["status"] == "captured"
