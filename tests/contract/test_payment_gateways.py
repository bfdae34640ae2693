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
    UnusableCardTokenError,
)
from domain.boleto import check_digitable_line
from domain.money import Money
from domain.pix import check_br_code
from infrastructure.gateways.payments.mercadopago import MercadoPagoGateway
from infrastructure.gateways.payments.pagseguro import PagSeguroGateway
from infrastructure.gateways.payments.stripe import StripeGateway
from tests.fakes.base import FakeProvider, Request
from tests.fakes.mercadopago import FakeMercadoPago
from tests.fakes.pagseguro import FakePagSeguro
from tests.fakes.stripe import FakeStripe

APPROVED, DECLINED, NO_FUNDS, PROCESSING = (
    "4242424242424242",
    "4000000000000002",
    "4000000000009995",
    "4000000000000119",
)
THREE_DS = "4000002500003155"
SECRETS = ("sk_test_fake", "APP_USR-fake", "pagbank-token")
# Every call of these tests waits at most this long: short enough for the timeout case to
# stay quick, long enough that a loaded CI machine answering slowly is not a "timeout"
# (0.5 s failed there once).
TIMEOUT_S = 2.0


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


def browser_token(provider: Provider, number: str = APPROVED) -> str:
    """What the provider's browser SDK hands the page: the card never meets our server."""
    fake = provider.fake
    if isinstance(fake, FakeStripe):
        return fake.stripe_js_card(number)
    if isinstance(fake, FakeMercadoPago):
        return fake.mercadopago_js_card(number)
    return str(fake.encrypt_card(number))


def tokenize(provider: Provider, number: str = APPROVED) -> str:
    """The browser's token, accepted by the adapter as checkout does."""
    return provider.gateway.accept_token(browser_token(provider, number)).token


def test_a_browser_token_is_accepted_and_reveals_nothing_of_the_card(provider):
    card = provider.gateway.accept_token(browser_token(provider))
    # PagBank tells the brand and last digits only in the charge's answer.
    assert card.last4 == ("" if provider.gateway.provider == "pagseguro" else "4242")
    assert APPROVED not in card.token
    assert "42424242" not in card.token


def test_a_token_of_another_provider_or_an_unknown_one_is_refused(provider):
    others = [make(name) for name in ("stripe", "mercadopago", "pagseguro")]
    try:
        for other in others:
            if other.gateway.provider == provider.gateway.provider:
                continue
            with pytest.raises(UnusableCardTokenError):
                provider.gateway.accept_token(browser_token(other))
        for unknown in ("pm_00000000000000", "0" * 32, "tok_" + "0" * 24, "x"):
            with pytest.raises(UnusableCardTokenError):
                provider.gateway.accept_token(unknown)
    finally:
        for other in others:
            other.fake.stop()


def test_a_single_use_token_is_refused_once_used():
    """Mercado Pago's card tokens and Stripe's ConfirmationTokens pay once."""
    mp, stripe = make("mercadopago"), make("stripe")
    try:
        token = tokenize(mp)
        assert mp.gateway.authorize(token, Money.brl("10.00"), key=str(uuid4())).approved
        with pytest.raises(UnusableCardTokenError):
            mp.gateway.accept_token(token.partition(":")[2])
        stripe_fake: FakeStripe = stripe.fake
        _, ctoken = stripe_fake.create_ctoken(
            Request(
                "POST", "", {}, {}, b"", {"payment_method": stripe_fake.stripe_js_card(APPROVED)}
            )
        )
        accepted = stripe.gateway.accept_token(ctoken["id"])
        assert (accepted.brand, accepted.last4) == ("visa", "4242")
        assert stripe.gateway.authorize(
            accepted.token, Money.brl("10.00"), key=str(uuid4())
        ).approved
        with pytest.raises(UnusableCardTokenError):
            stripe.gateway.accept_token(ctoken["id"])
    finally:
        mp.fake.stop()
        stripe.fake.stop()


# 3-D Secure ---------------------------------------------------------------------------------
@pytest.fixture(params=["stripe", "mercadopago"])
def challenging(request: pytest.FixtureRequest) -> Iterator[Provider]:
    made = make(request.param)
    yield made
    made.fake.stop()


def _authenticate(provider: Provider, authorization_id: str, ok: bool) -> None:
    if isinstance(provider.fake, FakeStripe):
        provider.fake.authenticate(authorization_id, ok)
    else:
        provider.fake.challenge(authorization_id, ok)


def test_a_card_needing_3ds_waits_for_the_shopper_then_is_authorized_and_captured(challenging):
    gateway, key = challenging.gateway, str(uuid4())
    answer = gateway.authorize(tokenize(challenging, THREE_DS), Money.brl("89.90"), key=key)
    assert not answer.approved
    assert answer.action is not None
    assert not answer.decline_reason
    assert answer.action.client_secret or answer.action.redirect_url
    assert challenging.fake.moved("authorize") == []
    waiting = gateway.authentication_result(answer.authorization_id)
    assert waiting.action is not None
    assert not waiting.approved
    _authenticate(challenging, answer.authorization_id, ok=True)
    done = gateway.authentication_result(answer.authorization_id)
    assert done.approved
    assert done.authorization_id == answer.authorization_id
    gateway.capture(answer.authorization_id, Money.brl("89.90"), key=f"{key}:capture")
    assert len(challenging.fake.moved("capture")) == 1


def test_a_failed_3ds_is_a_decline_and_an_abandoned_one_can_be_cancelled(challenging):
    gateway = challenging.gateway
    failed = gateway.authorize(tokenize(challenging, THREE_DS), Money.brl("10.00"), str(uuid4()))
    _authenticate(challenging, failed.authorization_id, ok=False)
    outcome = gateway.authentication_result(failed.authorization_id)
    assert not outcome.approved
    assert outcome.action is None
    assert outcome.decline_reason
    key = str(uuid4())
    abandoned = gateway.authorize(tokenize(challenging, THREE_DS), Money.brl("10.00"), key)
    gateway.void(abandoned.authorization_id, key=f"{key}:void")
    assert len(challenging.fake.moved("void")) == 1


def test_pagbank_authenticates_in_the_browser_so_a_charge_reads_authorized():
    made = make("pagseguro")
    try:
        answer = made.gateway.authorize(tokenize(made), Money.brl("10.00"), key=str(uuid4()))
        assert answer.approved
        assert answer.action is None
        assert made.gateway.authentication_result(answer.authorization_id).approved
    finally:
        made.fake.stop()


def test_authorize_then_capture_moves_the_amount_once(provider):
    gateway, key = provider.gateway, str(uuid4())
    answer = gateway.authorize(tokenize(provider), Money.brl("89.90"), key=key, installments=3)
    assert answer.approved
    gateway.capture(answer.authorization_id, Money.brl("89.90"), key=f"{key}:capture")
    gateway.capture(answer.authorization_id, Money.brl("89.90"), key=f"{key}:capture")
    assert len(provider.fake.moved("capture")) == 1


def test_authorize_then_void(provider):
    gateway, key = provider.gateway, str(uuid4())
    answer = gateway.authorize(tokenize(provider), Money.brl("10.00"), key=key)
    gateway.void(answer.authorization_id, key=f"{key}:void")
    assert len(provider.fake.moved("void")) == 1
    assert provider.fake.moved("capture") == []


def test_capture_then_refund(provider):
    gateway, key = provider.gateway, str(uuid4())
    answer = gateway.authorize(tokenize(provider), Money.brl("50.00"), key=key)
    gateway.capture(answer.authorization_id, Money.brl("50.00"), key=f"{key}:capture")
    gateway.refund(answer.authorization_id, Money.brl("50.00"), key=f"{key}:refund")
    assert len(provider.fake.moved("refund")) == 1


@pytest.mark.parametrize("number", [DECLINED, NO_FUNDS])
def test_a_declined_card_is_a_decline_with_the_providers_reason(provider, number):
    answer = provider.gateway.authorize(
        tokenize(provider, number), Money.brl("10.00"), key=str(uuid4())
    )
    assert not answer.approved
    assert answer.decline_reason
    assert provider.fake.moved("authorize") == []


def test_a_processing_failure_is_a_gateway_error_not_a_decline(provider):
    with pytest.raises(GatewayError):
        provider.gateway.authorize(
            tokenize(provider, PROCESSING), Money.brl("10.00"), key=str(uuid4())
        )


@pytest.mark.parametrize("fault", ["500", "timeout", "malformed"])
def test_a_5xx_a_timeout_or_a_malformed_answer_is_retryable_and_the_retry_charges_once(
    provider, fault
):
    gateway, key = provider.gateway, str(uuid4())
    token = tokenize(provider)
    provider.fake.hang_s = TIMEOUT_S * 1.5
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
    token = tokenize(provider)
    provider.gateway._api._client.headers["Authorization"] = "Bearer wrong"  # type: ignore[attr-defined]
    with pytest.raises(GatewayError) as caught:
        provider.gateway.authorize(token, Money.brl("10.00"), key=str(uuid4()))
    assert not caught.value.retryable


def test_no_card_number_travels_from_our_server(provider):
    """Only the browser's SDK call (public key, never our secret) carries the number."""
    gateway, key = provider.gateway, str(uuid4())
    answer = gateway.authorize(tokenize(provider), Money.brl("10.00"), key=key)
    gateway.capture(answer.authorization_id, Money.brl("10.00"), key=f"{key}:capture")
    ours = [r for r in provider.fake.requests if "wrong" not in str(r.headers)]
    secret = [r for r in ours if r.headers.get("authorization", "").endswith(SECRETS)]
    assert len(secret) >= 2  # the adapter did talk to the provider
    assert not [r.path for r in secret if APPROVED.encode() in r.raw]
    browser = [r for r in provider.fake.requests if APPROVED.encode() in r.raw]
    assert all(r not in secret for r in browser)


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
    """A payment holding tokens at two providers (as recorded before cards were tokenized
    in the browser, when the server tokenized at each): Stripe answers its processing-error
    test card with `processing_error`, the chain moves on to PagSeguro, which authorizes.
    Reconfigured to Mercado Pago alone, the capture still goes to PagSeguro."""
    from application.gateways import GatewayChain, join_tokens
    from application.services import Services
    from domain.base import EventMetadata, event_context
    from domain.payment import Payment

    stripe, pagseguro, mercadopago = make("stripe"), make("pagseguro"), make("mercadopago")
    try:
        services = Services.open(env={}, gateways=GatewayChain([stripe.gateway, pagseguro.gateway]))
        # 4000000000000119 is Stripe's processing-error card; at PagSeguro the card is an
        # ordinary one that approves.
        tokens = {"stripe": tokenize(stripe, PROCESSING), "pagseguro": tokenize(pagseguro)}
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
            services.store.save(payment)
            services.payments.authorize_payment(payment.id)
            authorized = services.payments.payment(payment.id)
            assert (authorized.status, authorized.gateway) == ("authorized", "pagseguro")
            assert authorized.abandoned_gateways == ["stripe"]
            assert (
                pagseguro.fake.charges[authorized.authorization_id]["payment_method"][
                    "installments"
                ]
                == 2
            )

            services.payments.gateways = GatewayChain(
                [mercadopago.gateway], [stripe.gateway, pagseguro.gateway]
            )
            authorized.request_capture(authorized.authorized)
            services.store.save(authorized)
            services.payments.capture_payment(payment.id)
            assert services.payments.payment(payment.id).status == "captured"
            assert len(pagseguro.fake.moved("capture")) == 1
            assert mercadopago.fake.ledger == []
    finally:
        for p in (stripe, pagseguro, mercadopago):
            p.fake.stop()


# Disputes (chargebacks) --------------------------------------------------------------------
def _captured(provider: Provider, key: str) -> str:
    gateway = provider.gateway
    answer = gateway.authorize(tokenize(provider), Money.brl("89.90"), key=key)
    gateway.capture(answer.authorization_id, Money.brl("89.90"), key=f"{key}:capture")
    return answer.authorization_id


def test_stripe_dispute_events_name_our_payment_their_deadline_and_outcome():
    made = make("stripe")
    try:
        key = str(uuid4())
        intent = _captured(made, key)
        due = int(time.time()) + 3 * 86400
        opened = made.gateway.read_webhook(
            *_headers_body(made.fake.dispute(intent, due_by=due)), datetime.now(UTC)
        )
        assert (opened.reference, opened.charge_id) == (key, intent)
        assert opened.dispute is not None
        assert (opened.dispute.status, opened.dispute.amount) == ("opened", Money.brl("89.90"))
        assert opened.dispute.evidence_due_by == datetime.fromtimestamp(due, UTC)
        for status, outcome in (("lost", "lost"), ("won", "won"), ("warning_closed", "won")):
            closed = made.gateway.read_webhook(
                *_headers_body(made.fake.dispute(intent, "charge.dispute.closed", status)),
                datetime.now(UTC),
            )
            assert closed.dispute is not None
            assert closed.dispute.status == outcome
    finally:
        made.fake.stop()


def _headers_body(signed: tuple[dict[str, str], bytes]) -> tuple[dict[str, str], dict, bytes]:
    return signed[0], {}, signed[1]


def test_mercadopago_chargebacks_are_read_back_from_the_chargebacks_api():
    made = make("mercadopago")
    try:
        key = str(uuid4())
        payment_id = _captured(made, key)
        case = made.fake.chargeback(payment_id)
        note = made.gateway.read_webhook(
            *made.fake.webhook(case, topic="chargebacks"), datetime.now(UTC)
        )
        assert (note.reference, note.charge_id) == (key, payment_id)
        assert note.dispute is not None
        assert (note.dispute.status, note.dispute.amount) == ("opened", Money.brl("89.90"))
        assert note.dispute.evidence_due_by is not None
        made.fake.payments[payment_id]["status_detail"] = "settled"
        lost = made.gateway.read_webhook(
            *made.fake.webhook(case, topic="chargebacks"), datetime.now(UTC)
        )
        assert lost.dispute is not None
        assert lost.dispute.status == "lost"
        unknown = made.gateway.read_webhook(
            *made.fake.webhook("999", topic="chargebacks"), datetime.now(UTC)
        )
        assert (unknown.status, unknown.dispute) == ("other", None)
    finally:
        made.fake.stop()


def test_stripe_balance_transactions_are_the_settlement_report():
    from infrastructure.gateways.settlement_reports import lines_of

    made = make("stripe")
    try:
        intent = _captured(made, str(uuid4()))
        now = datetime.now(UTC)
        rows = made.gateway.settlement_rows(now - timedelta(days=1), now + timedelta(days=1))
        (line,) = lines_of("stripe", rows)
        assert (line.kind, line.source_id, line.amount) == ("capture", intent, Money.brl("89.90"))
        assert line.fee == Money.brl("3.98")  # 3.99 % + 0.39
    finally:
        made.fake.stop()


@pytest.mark.parametrize("name", ["mercadopago", "pagseguro"])
def test_the_settlement_report_names_our_reference_and_the_providers_id(name):
    from infrastructure.gateways.settlement_reports import parse_report

    made = make(name)
    try:
        key = str(uuid4())
        authorization = _captured(made, key)
        made.gateway.refund(authorization, Money.brl("10.00"), key=f"{key}:refund")
        fake: Any = made.fake
        report = fake.settlement_report() if name == "mercadopago" else fake.edi_extract()
        capture, refund = parse_report(name, report)
        assert (capture.kind, capture.reference, capture.source_id) == (
            "capture",
            key,
            authorization,
        )
        assert capture.amount == Money.brl("89.90")
        assert capture.fee.is_positive
        assert (refund.kind, refund.amount) == ("refund", Money.brl("10.00"))
    finally:
        made.fake.stop()


# PagBank's encrypted card: kept out of the log, exchanged for PagBank's card id -------------
def test_pagbanks_encrypted_card_is_held_apart_and_exchanged_for_its_card_id_at_the_charge():
    """The payment records a handle, never the blob; the first charge stores the card at
    PagBank (`store: true`) and its card id replaces the blob; a repeat of that charge gets
    the same answer without PagBank, another charge names the card by its id alone."""
    made = make("pagseguro")
    try:
        blob = browser_token(made)
        handle = made.gateway.accept_token(blob).token
        assert handle.startswith("intake_")
        assert blob[:32] not in handle
        key = str(uuid4())
        first = made.gateway.authorize(handle, Money.brl("30.00"), key=key)
        assert first.approved
        assert made.gateway.authorize(handle, Money.brl("30.00"), key=key) == first
        (charged,) = [r for r in made.fake.requests if r.path == "/charges"]
        assert charged.params["payment_method"]["store"] is True
        (card_id,) = made.fake.stored_cards

        again = made.gateway.authorize(handle, Money.brl("12.00"), key=str(uuid4()))
        assert again.approved
        assert again.authorization_id != first.authorization_id
        second = [r for r in made.fake.requests if r.path == "/charges"][-1]
        assert second.params["payment_method"]["card"] == {"id": card_id}
        assert blob.encode() not in second.raw
    finally:
        made.fake.stop()


def test_an_expired_pagbank_intake_declines_instead_of_charging_nothing():
    made = make("pagseguro")
    try:
        answer = made.gateway.authorize("intake_" + "0" * 32, Money.brl("10.00"), str(uuid4()))
        assert (answer.approved, answer.decline_reason) == (False, "card_token_expired")
        assert [r for r in made.fake.requests if r.path == "/charges"] == []
    finally:
        made.fake.stop()
