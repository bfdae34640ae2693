"""Each real gateway adapter against a local server implementing its provider's documented
API: the same behaviour suite for Stripe, Mercado Pago and PagSeguro."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import uuid4

import pytest

from application.ports import (
    GatewayError,
    InvalidWebhookError,
    MalformedWebhookError,
    Payer,
    PaymentGateway,
)
from domain.boleto import check_digitable_line
from domain.money import Money
from domain.pix import check_br_code
from infrastructure.gateways.mercadopago import MercadoPagoGateway
from infrastructure.gateways.pagseguro import PagSeguroGateway
from infrastructure.gateways.stripe import StripeGateway
from tests.fakes.base import FakeProvider
from tests.fakes.mercadopago import FakeMercadoPago
from tests.fakes.pagseguro import FakePagSeguro
from tests.fakes.stripe import FakeStripe

APPROVED, DECLINED, NO_FUNDS, PROCESSING = (
    "4242424242424242",
    "4000000000000002",
    "4000000000009995",
    "4000000000000119",
)
TIMEOUT_S = 0.5


@dataclass
class Provider:
    fake: Any
    gateway: PaymentGateway


def make(name: str) -> Provider:
    if name == "stripe":
        fake: FakeProvider = FakeStripe().start()
        return Provider(fake, StripeGateway("sk_test_fake", "whsec_fake", fake.url, TIMEOUT_S))
    if name == "mercadopago":
        fake = FakeMercadoPago().start()
        return Provider(fake, MercadoPagoGateway("APP_USR-fake", "mp-secret", fake.url, TIMEOUT_S))
    fake = FakePagSeguro().start()
    return Provider(fake, PagSeguroGateway("pagbank-token", "", fake.url, TIMEOUT_S))


@pytest.fixture(params=["stripe", "mercadopago", "pagseguro"])
def provider(request: pytest.FixtureRequest) -> Iterator[Provider]:
    made = make(request.param)
    yield made
    made.fake.stop()


def tokenize(gateway: PaymentGateway, number: str = APPROVED) -> str:
    return gateway.tokenize(number, "12/30", "123", "Maria Silva").token


def test_tokenizing_gives_a_token_that_reveals_nothing_of_the_card(provider):
    card = provider.gateway.tokenize(APPROVED, "12/30", "123", "Maria Silva")
    assert card.last4 == "4242"
    assert APPROVED not in card.token
    assert "42424242" not in card.token


def test_authorize_then_capture_moves_the_amount_once(provider):
    gateway, key = provider.gateway, str(uuid4())
    answer = gateway.authorize(tokenize(gateway), Money.brl("89.90"), key=key, installments=3)
    assert answer.approved
    gateway.capture(answer.authorization_id, Money.brl("89.90"), key=f"{key}:capture")
    gateway.capture(answer.authorization_id, Money.brl("89.90"), key=f"{key}:capture")
    assert len(provider.fake.moved("capture")) == 1


def test_authorize_then_void(provider):
    gateway, key = provider.gateway, str(uuid4())
    answer = gateway.authorize(tokenize(gateway), Money.brl("10.00"), key=key)
    gateway.void(answer.authorization_id, key=f"{key}:void")
    assert len(provider.fake.moved("void")) == 1
    assert provider.fake.moved("capture") == []


def test_capture_then_refund(provider):
    gateway, key = provider.gateway, str(uuid4())
    answer = gateway.authorize(tokenize(gateway), Money.brl("50.00"), key=key)
    gateway.capture(answer.authorization_id, Money.brl("50.00"), key=f"{key}:capture")
    gateway.refund(answer.authorization_id, Money.brl("50.00"), key=f"{key}:refund")
    assert len(provider.fake.moved("refund")) == 1


@pytest.mark.parametrize("number", [DECLINED, NO_FUNDS])
def test_a_declined_card_is_a_decline_with_the_providers_reason(provider, number):
    answer = provider.gateway.authorize(
        tokenize(provider.gateway, number), Money.brl("10.00"), key=str(uuid4())
    )
    assert not answer.approved
    assert answer.decline_reason
    assert provider.fake.moved("authorize") == []


def test_a_processing_failure_is_a_gateway_error_not_a_decline(provider):
    with pytest.raises(GatewayError):
        provider.gateway.authorize(
            tokenize(provider.gateway, PROCESSING), Money.brl("10.00"), key=str(uuid4())
        )


@pytest.mark.parametrize("fault", ["500", "timeout", "malformed"])
def test_a_5xx_a_timeout_or_a_malformed_answer_is_retryable_and_the_retry_charges_once(
    provider, fault
):
    gateway, key = provider.gateway, str(uuid4())
    token = tokenize(gateway)
    provider.fake.hang_s = TIMEOUT_S * 2
    provider.fake.faults.append(fault)
    with pytest.raises(GatewayError) as caught:
        gateway.authorize(token, Money.brl("10.00"), key=key)
    assert caught.value.retryable
    first = gateway.authorize(token, Money.brl("10.00"), key=key)
    again = gateway.authorize(token, Money.brl("10.00"), key=key)
    assert first.approved
    assert again.authorization_id == first.authorization_id
    assert len(provider.fake.moved("authorize")) == 1


def test_wrong_credentials_are_a_non_retryable_gateway_error(provider):
    provider.gateway._api._client.headers["Authorization"] = "Bearer wrong"  # type: ignore[attr-defined]
    with pytest.raises(GatewayError) as caught:
        tokenize(provider.gateway)
    assert not caught.value.retryable


def test_no_card_number_travels_outside_tokenization(provider):
    gateway, key = provider.gateway, str(uuid4())
    answer = gateway.authorize(tokenize(gateway), Money.brl("10.00"), key=key)
    gateway.capture(answer.authorization_id, Money.brl("10.00"), key=f"{key}:capture")
    carrying = [r.path for r in provider.fake.requests if APPROVED.encode() in r.raw]
    assert len(carrying) == 1
    assert "token" in carrying[0] or "payment_methods" in carrying[0]


# Pix and boleto ---------------------------------------------------------------------------
@pytest.fixture(params=["mercadopago", "pagseguro"])
def brazilian(request: pytest.FixtureRequest) -> Iterator[Provider]:
    made = make(request.param)
    yield made
    made.fake.stop()


def test_pix_is_issued_as_a_valid_br_code(brazilian):
    expires = datetime.now(UTC) + timedelta(minutes=30)
    charge = brazilian.gateway.issue("pix", Money.brl("89.90"), str(uuid4()), Payer("c1"), expires)
    assert check_br_code(charge.pix_copy_paste)["54"] == "89.90"
    assert charge.charge_id


def test_boleto_is_issued_with_a_valid_line_and_needs_the_cpf(brazilian):
    due = datetime.now(UTC) + timedelta(days=3)
    charge = brazilian.gateway.issue(
        "boleto", Money.brl("120.00"), str(uuid4()), Payer("c1", cpf="52998224725"), due
    )
    assert len(check_digitable_line(charge.boleto_line)) == 44


# Webhooks ----------------------------------------------------------------------------------
def test_stripe_webhooks_are_read_when_signed_and_refused_when_forged_or_stale():
    made = make("stripe")
    try:
        intent = {
            "id": "pi_1",
            "amount": 8990,
            "amount_received": 8990,
            "metadata": {"payment_id": "p-1"},
        }
        headers, body = made.fake.webhook("payment_intent.succeeded", intent)
        note = made.gateway.read_webhook(headers, {}, body, datetime.now(UTC))
        assert (note.status, note.reference, note.amount) == ("paid", "p-1", Money.brl("89.90"))
        forged, _ = made.fake.webhook("payment_intent.succeeded", intent, secret="other")
        stale, stale_body = made.fake.webhook(
            "payment_intent.succeeded", intent, at=int(time.time()) - 3600
        )
        for bad_headers, bad_body in (
            (forged, body),
            ({}, body),
            (headers, body + b" "),
            (stale, stale_body),
        ):
            with pytest.raises(InvalidWebhookError):
                made.gateway.read_webhook(bad_headers, {}, bad_body, datetime.now(UTC))
    finally:
        made.fake.stop()


def test_mercadopago_webhooks_are_verified_then_read_back_from_the_payments_api():
    made = make("mercadopago")
    try:
        key = str(uuid4())
        expires = datetime.now(UTC) + timedelta(minutes=30)
        charge = made.gateway.issue("pix", Money.brl("30.00"), key, Payer("c1"), expires)
        made.fake.pay(charge.charge_id)
        headers, query, body = made.fake.webhook(charge.charge_id)
        note = made.gateway.read_webhook(headers, query, body, datetime.now(UTC))
        assert (note.status, note.reference, note.amount) == ("paid", key, Money.brl("30.00"))
        forged = made.fake.webhook(charge.charge_id, secret="other")
        with pytest.raises(InvalidWebhookError):
            made.gateway.read_webhook(forged[0], forged[1], forged[2], datetime.now(UTC))
        with pytest.raises(InvalidWebhookError):
            made.gateway.read_webhook(headers, {"data.id": "999"}, body, datetime.now(UTC))
    finally:
        made.fake.stop()


def test_pagseguro_notifications_are_verified_by_their_authenticity_token():
    made = make("pagseguro")
    try:
        charge = {
            "id": "CHAR_1",
            "reference_id": "p-2",
            "status": "PAID",
            "amount": {"value": 4550},
        }
        headers, body = made.fake.notification(charge)
        note = made.gateway.read_webhook(headers, {}, body, datetime.now(UTC))
        assert (note.status, note.reference, note.amount) == ("paid", "p-2", Money.brl("45.50"))
        forged, _ = made.fake.notification(charge, token="other")
        with pytest.raises(InvalidWebhookError):
            made.gateway.read_webhook(forged, {}, body, datetime.now(UTC))
    finally:
        made.fake.stop()


@pytest.mark.parametrize(
    "intent",
    [
        "x",
        ["pi_1"],
        {"id": "pi_1", "amount": "lots"},
        {"id": "pi_1", "amount": 1e400},
        {"id": "pi_1", "amount": 100, "metadata": "p-1"},
    ],
)
def test_a_signed_stripe_event_we_cannot_read_is_malformed_not_a_crash(intent: Any):
    made = make("stripe")
    try:
        headers, body = made.fake.webhook("payment_intent.succeeded", intent)
        with pytest.raises(MalformedWebhookError):
            made.gateway.read_webhook(headers, {}, body, datetime.now(UTC))
    finally:
        made.fake.stop()


@pytest.mark.parametrize("amount", ["thirty", "NaN", "Infinity", None, [], "1e30"])
def test_a_mercadopago_payment_with_an_unreadable_amount_is_malformed_not_a_crash(amount: Any):
    made = make("mercadopago")
    try:
        expires = datetime.now(UTC) + timedelta(minutes=30)
        charge = made.gateway.issue("pix", Money.brl("30.00"), str(uuid4()), Payer("c1"), expires)
        made.fake.pay(charge.charge_id)
        made.fake.payments[charge.charge_id]["transaction_amount"] = amount
        headers, query, body = made.fake.webhook(charge.charge_id)
        with pytest.raises(MalformedWebhookError):
            made.gateway.read_webhook(headers, query, body, datetime.now(UTC))
    finally:
        made.fake.stop()


@pytest.mark.parametrize(
    "charge",
    [
        {"charges": []},
        {"charges": "x"},
        {"id": "C", "status": "PAID", "amount": "x"},
        {"id": "C", "status": "PAID", "amount": {"value": 1e400}},
    ],
)
def test_a_signed_pagbank_notification_we_cannot_read_is_malformed_not_a_crash(charge: Any):
    made = make("pagseguro")
    try:
        headers, body = made.fake.notification(charge)
        with pytest.raises(MalformedWebhookError):
            made.gateway.read_webhook(headers, {}, body, datetime.now(UTC))
    finally:
        made.fake.stop()


# The chain ---------------------------------------------------------------------------------
def test_a_processing_error_fails_over_and_money_moves_where_it_was_authorized():
    """Stripe answers Stripe's processing-error test card with `processing_error`: the chain
    moves on to PagSeguro, which authorizes. Reconfigured to Mercado Pago alone, the
    capture still goes to PagSeguro."""
    from application.gateways import GatewayChain, join_tokens
    from application.shop import Shop
    from domain.base import EventMetadata, event_context
    from domain.payment import Payment

    stripe, pagseguro, mercadopago = make("stripe"), make("pagseguro"), make("mercadopago")
    try:
        shop = Shop(env={}, gateways=GatewayChain([stripe.gateway, pagseguro.gateway]))
        tokens = {
            p.gateway.provider: p.gateway.tokenize(PROCESSING, "12/30", "123", "Ana").token
            for p in (stripe, pagseguro)
        }
        with event_context(EventMetadata("test", "", "")):
            payment = Payment(
                order_id=uuid4(),
                customer_id="c1",
                amount=Money.brl("75.00"),
                token=join_tokens(tokens),
                brand="visa",
                last4="0119",
                installments=2,
            )
            shop.save(payment)
            # 4000000000000119 is Stripe's processing-error card; at PagSeguro it is an
            # ordinary card that approves.
            pagseguro.fake.cards[tokens["pagseguro"]] = "approved"
            shop.authorize_payment(payment.id)
            authorized = shop.payment(payment.id)
            assert (authorized.status, authorized.gateway) == ("authorized", "pagseguro")
            assert authorized.abandoned_gateways == ["stripe"]
            assert (
                pagseguro.fake.charges[authorized.authorization_id]["payment_method"][
                    "installments"
                ]
                == 2
            )

            shop.gateways = GatewayChain([mercadopago.gateway], [stripe.gateway, pagseguro.gateway])
            authorized.request_capture(authorized.authorized)
            shop.save(authorized)
            shop.capture_payment(payment.id)
            assert shop.payment(payment.id).status == "captured"
            assert len(pagseguro.fake.moved("capture")) == 1
            assert mercadopago.fake.ledger == []
    finally:
        for p in (stripe, pagseguro, mercadopago):
            p.fake.stop()
