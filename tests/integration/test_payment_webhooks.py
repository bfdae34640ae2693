"""Pix and boleto payments and the providers' webhooks, on the real event store.

The order side (awaiting_payment, confirmation, cancellation) is the saga's; here the
payment alone: issued by the sandbox, paid or expired by signed webhooks."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from datetime import timedelta
from uuid import UUID, uuid4

import psycopg
import pytest
from eventsourcing.application import AggregateNotFoundError

from application.gateways import GatewayChain
from application.ports import InvalidWebhookError
from domain.base import EventMetadata, event_context, now
from domain.boleto import check_digitable_line
from domain.money import Money
from domain.payment import CAPTURED, EXPIRED, ISSUED, REFUNDED, Payment
from domain.personal import PersonalData
from domain.pix import check_br_code
from domain.webhook import WebhookDelivery
from infrastructure.bootstrap import Container, bootstrap
from infrastructure.gateways.payments.pagseguro import PagSeguroGateway
from infrastructure.gateways.payments.sandbox import SandboxGateway

CPF = "52998224725"


@pytest.fixture
def system(settings) -> Iterator[Container]:
    built = bootstrap(settings)  # no workers: these tests drive the payment by hand
    with event_context(EventMetadata("test", "corr-webhooks", "")):
        yield built
    built.close()


def new_payment(container: Container, method: str = "pix", amount: str = "89.90") -> UUID:
    payer = PersonalData("cliente-1", {"cpf": CPF}) if method == "boleto" else None
    payment = Payment(
        order_id=uuid4(),
        customer_id="cliente-1",
        amount=Money.brl(amount),
        token="",
        brand="",
        last4="",
        method=method,
        payer=payer,
    )
    container.services.store.save(payment)
    container.services.payments.issue_charge(payment.id)
    return payment.id


def pay(container: Container, payment_id: UUID, **options) -> tuple[dict[str, str], bytes]:
    payment = container.services.payments.payment(payment_id)
    sandbox = next(g for g in container.services.payments.gateways if g.name == payment.gateway)
    assert isinstance(sandbox, SandboxGateway)
    charge = sandbox.charge(payment.charge_id)
    assert charge is not None
    return sandbox.payer_webhook(charge, **options)


def test_a_pix_charge_is_a_valid_br_code_and_a_signed_payment_captures_it(system):
    pid = new_payment(system)
    payment = system.services.payments.payment(pid)
    assert payment.status == ISSUED
    assert check_br_code(payment.pix_copy_paste)["54"] == "89.90"
    assert timedelta(minutes=29) < payment.expires_at - now() <= timedelta(minutes=30)
    headers, body = pay(system, pid)
    delivery = system.services.payments.receive_webhook("sandbox", headers, {}, body)
    assert delivery.outcome == "applied"
    assert system.services.payments.payment(pid).status == CAPTURED


def test_the_same_webhook_delivered_five_times_changes_the_payment_once(system):
    pid = new_payment(system)
    headers, body = pay(system, pid)
    outcomes = [
        system.services.payments.receive_webhook("sandbox", headers, {}, body).outcome
        for _ in range(5)
    ]
    assert outcomes == ["applied"] * 5
    kinds = [type(e).__name__ for e in system.services.store.events.get(pid)]
    assert kinds.count("Paid") == 1


@pytest.mark.parametrize("forge", ["wrong", "missing", "tampered"])
def test_a_forged_webhook_is_refused_and_changes_nothing(system, forge):
    pid = new_payment(system)
    headers, body = pay(system, pid)
    if forge == "wrong":
        headers["x-sandbox-signature"] = "sha256=" + "0" * 64
    elif forge == "missing":
        del headers["x-sandbox-signature"]
    else:
        body = body.replace(b"89.90", b"0.01")
    version = system.services.payments.payment(pid).version
    with pytest.raises(InvalidWebhookError):
        system.services.payments.receive_webhook("sandbox", headers, {}, body)
    assert system.services.payments.payment(pid).version == version
    event_id = json.loads(body)["id"]
    with pytest.raises(AggregateNotFoundError):
        system.services.store.repository.get(WebhookDelivery.create_id("sandbox", event_id))


def test_a_webhook_for_an_unknown_payment_is_accepted_and_recorded(system):
    sandbox = system.services.payments.gateways[0]
    assert isinstance(sandbox, SandboxGateway)
    charge = {"charge_id": "elsewhere", "reference": str(uuid4()), "amount": "10.00"}
    headers, body = sandbox.payer_webhook(charge)
    delivery = system.services.payments.receive_webhook("sandbox", headers, {}, body)
    assert delivery.outcome == "unknown_payment"
    assert system.services.store.repository.get(delivery.id).outcome == "unknown_payment"


def test_a_notification_naming_another_charge_of_ours_is_recorded_and_not_applied(system):
    pid = new_payment(system)
    sandbox = system.services.payments.gateways[0]
    assert isinstance(sandbox, SandboxGateway)
    charge = {"charge_id": "sandbox-pix-elsewhere", "reference": str(pid), "amount": "89.90"}
    headers, body = sandbox.payer_webhook(charge)
    delivery = system.services.payments.receive_webhook("sandbox", headers, {}, body)
    assert delivery.outcome == "unknown_payment"
    assert system.services.payments.payment(pid).status == ISSUED


def test_a_notification_of_another_provider_echoing_our_reference_is_not_applied(system):
    pid = new_payment(system)  # issued by the sandbox
    services, token = system.services, "pagbank-token"
    services.payments.gateways = GatewayChain(
        [*services.payments.gateways, PagSeguroGateway(token, "", "http://127.0.0.1:9", 1)]
    )
    payment = services.payments.payment(pid)
    charge = {
        "id": payment.charge_id,
        "reference_id": str(pid),
        "status": "PAID",
        "amount": {"value": 8990},
    }
    body = json.dumps(charge).encode()
    headers = {"x-authenticity-token": hashlib.sha256(f"{token}-".encode() + body).hexdigest()}
    assert (
        services.payments.receive_webhook("pagseguro", headers, {}, body).outcome
        == "unknown_payment"
    )
    assert services.payments.payment(pid).version == payment.version
    assert services.payments.payment(pid).status == ISSUED


def test_a_payment_of_another_amount_is_flagged_and_not_applied(system):
    pid = new_payment(system)
    headers, body = pay(system, pid, amount=Money.brl("80.00").amount)
    assert (
        system.services.payments.receive_webhook("sandbox", headers, {}, body).outcome
        == "amount_mismatch"
    )
    payment = system.services.payments.payment(pid)
    assert payment.status == ISSUED
    assert len(payment.flags) == 1


def test_a_payment_after_expiry_is_recorded_and_refunded_at_the_gateway(system):
    pid = new_payment(system)
    headers, body = pay(system, pid, expire=True)
    system.services.payments.receive_webhook("sandbox", headers, {}, body)
    assert system.services.payments.payment(pid).status == EXPIRED
    headers, body = pay(system, pid)
    assert (
        system.services.payments.receive_webhook("sandbox", headers, {}, body).outcome == "applied"
    )
    payment = system.services.payments.payment(pid)
    assert (payment.status, payment.pending) == (CAPTURED, "refund")
    system.services.payments.refund_payment(pid)
    assert system.services.payments.payment(pid).status == REFUNDED
    sandbox = next(g for g in system.services.payments.gateways if g.name == payment.gateway)
    assert [row["op"] for row in sandbox.ledger()] == ["issue", "refund"]


def test_a_boleto_has_a_valid_line_due_in_three_days_and_its_cpf_is_encrypted(system):
    pid = new_payment(system, "boleto", "120.00")
    payment = system.services.payments.payment(pid)
    check_digitable_line(payment.boleto_line)
    assert payment.boleto_line[-10:] == "0000012000"
    assert 2 <= (payment.expires_at - now()).days <= 3
    with psycopg.connect(system.database_url) as conn:
        stored = b"".join(bytes(r[0]) for r in conn.execute("SELECT state FROM ecovarejo_events"))
    assert CPF.encode() not in stored


def test_the_raw_body_of_a_webhook_is_not_stored(system):
    token = "pagbank-token"
    services = system.services
    services.payments.gateways = GatewayChain(
        [*services.payments.gateways, PagSeguroGateway(token, "", "http://127.0.0.1:9", 1)]
    )
    charge = {
        "id": "CHAR_9",
        "reference_id": str(uuid4()),
        "status": "PAID",
        "amount": {"value": 1000},
        "payment_method": {"boleto": {"holder": {"name": "Joana Pereira", "tax_id": CPF}}},
    }
    body = json.dumps(charge).encode()
    headers = {"x-authenticity-token": hashlib.sha256(f"{token}-".encode() + body).hexdigest()}
    assert (
        services.payments.receive_webhook("pagseguro", headers, {}, body).outcome
        == "unknown_payment"
    )
    with psycopg.connect(system.database_url) as conn:
        stored = b"".join(bytes(r[0]) for r in conn.execute("SELECT state FROM ecovarejo_events"))
    assert b"Joana" not in stored
    assert CPF.encode() not in stored
