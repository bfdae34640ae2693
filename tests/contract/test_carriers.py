"""The carrier port's contract, run against each adapter and the local server that plays its
provider (tests/fakes): quotes, a label bought in the documented steps, tracking, and
webhooks whose signatures are checked."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from application.carriers import (
    CarrierError,
    CarrierSignatureError,
    Parcel,
    Recipient,
    ReturnSender,
    UnreadableCarrierWebhookError,
)
from domain.delivery import DeliveryStep
from domain.money import Money
from infrastructure.gateways.carriers.melhor_envio import MelhorEnvio
from tests.fakes.melhor_envio import FakeMelhorEnvio

PARCEL = Parcel("01310-100", "90570-020", 1200, Money.brl("129.90"))
ANA = Recipient("Ana Souza", "Av. Paulista 1000", "", "São Paulo", "SP", "01310-100")
SENDER = {"name": "EcoVarejo", "address": "Rua A 1", "city": "São Paulo", "state_abbr": "SP"}


@pytest.fixture
def fake() -> Iterator[FakeMelhorEnvio]:
    with FakeMelhorEnvio() as server:
        yield server


@pytest.fixture
def carrier(fake: FakeMelhorEnvio) -> MelhorEnvio:
    return MelhorEnvio(fake.token, fake.secret, SENDER, base_url=fake.url, timeout_s=1)


def test_quotes_list_the_services_that_serve_the_route_with_price_and_days(carrier):
    quotes = carrier.quote(PARCEL)
    assert [(q.service_id, q.carrier, q.price, q.days) for q in quotes] == [
        ("1", "Correios", Money.brl("24.53"), 6),
        ("2", "Correios", Money.brl("41.10"), 2),
        ("3", "Jadlog", Money.brl("19.87"), 5),
    ]  # Mini Envios does not take 1.2 kg


def buy_label(carrier, order_ref: str, service_id: str):
    return carrier.complete_label(carrier.open_label(order_ref, service_id, PARCEL, ANA).label_id)


def test_a_label_is_bought_in_the_documented_steps_and_carries_our_order_as_a_tag(carrier, fake):
    opened = carrier.open_label("order-1", "2", PARCEL, ANA)
    assert (opened.carrier, opened.service) == ("Correios", "SEDEX")
    assert [row["op"] for row in fake.ledger] == ["cart"]  # nothing paid yet
    label = carrier.complete_label(opened.label_id)
    assert label.label_id == opened.label_id
    assert label.tracking_code.startswith("ME")
    assert label.label_url.endswith(label.label_id)
    assert [row["op"] for row in fake.ledger] == ["cart", "purchase"]
    assert fake.orders[label.label_id]["tags"] == [{"tag": "order-1", "url": None}]
    paths = [r.path for r in fake.requests]
    assert paths == [
        "/api/v2/me/cart",
        "/api/v2/me/shipment/tracking",
        "/api/v2/me/shipment/checkout",
        "/api/v2/me/shipment/generate",
        "/api/v2/me/shipment/tracking",
        "/api/v2/me/shipment/print",
    ]


def test_completing_a_label_again_never_pays_for_it_twice(carrier, fake):
    """A purchase cut short after the payment is completed again: asked first, not paid."""
    opened = carrier.open_label("order-1", "1", PARCEL, ANA)
    first = carrier.complete_label(opened.label_id)
    again = carrier.complete_label(opened.label_id)
    assert again.tracking_code == first.tracking_code
    assert [row["op"] for row in fake.ledger] == ["cart", "purchase"]


def test_a_reverse_label_goes_back_by_pac_or_sedex_for_a_parcel_sent_through_the_carrier(
    carrier, fake
):
    sent = buy_label(carrier, "order-1", "3")
    shopper = ReturnSender("ana@example.com.br", "81 99999-0000")
    back = Parcel("90570-020", "01310-100", 500, Money.brl("60.00"))
    opened = carrier.open_return_label("order-1", sent.label_id, "1", back, shopper)
    assert (opened.carrier, opened.service) == ("Correios", "PAC")
    label = carrier.complete_label(opened.label_id)
    assert fake.orders[label.label_id]["reverse_of"] == sent.label_id
    sent_to_cart = next(r for r in fake.requests if r.path == "/api/v2/me/cart/return").params
    assert sent_to_cart["new_sender_mail"] == "ana@example.com.br"
    assert [row["op"] for row in fake.ledger].count("purchase") == 2
    with pytest.raises(CarrierError) as jadlog:
        carrier.open_return_label("order-1", sent.label_id, "3", back, shopper)
    assert not jadlog.value.retryable
    with pytest.raises(CarrierError):
        carrier.open_return_label("order-1", "no-such-label", "1", back, shopper)


def test_a_signed_webhook_becomes_a_step_of_our_order_in_utc(carrier, fake):
    label = buy_label(carrier, "order-1", "1")
    at = datetime(2026, 12, 1, 15, 30, tzinfo=UTC)
    report = carrier.read_webhook(*lower(fake.webhook(label.label_id, "order.delivered", at)))
    assert report is not None
    assert (report.order_ref, report.step, report.at) == ("order-1", DeliveryStep.DELIVERED, at)
    posted = carrier.read_webhook(*lower(fake.webhook(label.label_id, "order.posted", at)))
    assert posted is not None
    assert posted.step is DeliveryStep.IN_TRANSIT
    other = carrier.read_webhook(*lower(fake.webhook(label.label_id, "order.released", at)))
    assert other is None  # not a step of the parcel


def test_forged_or_unreadable_webhooks_are_refused(carrier, fake):
    label = buy_label(carrier, "order-1", "1")
    headers, body = lower(fake.webhook(label.label_id, "order.delivered", datetime.now(UTC)))
    with pytest.raises(CarrierSignatureError):
        carrier.read_webhook(headers, body.replace(b"order-1", b"order-2"))
    with pytest.raises(CarrierSignatureError):
        carrier.read_webhook({}, body)
    garbage = b"[1, 2]"
    with pytest.raises(UnreadableCarrierWebhookError):
        carrier.read_webhook({"x-me-signature": sign(fake, garbage)}, garbage)


def test_a_refused_token_an_outage_and_garbage_are_carrier_errors(fake):
    wrong = MelhorEnvio("other", fake.secret, SENDER, base_url=fake.url, timeout_s=1)
    with pytest.raises(CarrierError) as refused:
        wrong.quote(PARCEL)
    assert not refused.value.retryable
    right = MelhorEnvio(fake.token, fake.secret, SENDER, base_url=fake.url, timeout_s=0.5)
    for fault in ("500", "malformed", "timeout"):
        fake.faults.append(fault)
        with pytest.raises(CarrierError) as failed:
            right.quote(PARCEL)
        assert failed.value.retryable


def lower(signed: tuple[dict[str, str], bytes]) -> tuple[dict[str, str], bytes]:
    headers, body = signed
    return {k.lower(): v for k, v in headers.items()}, body


def sign(fake: FakeMelhorEnvio, body: bytes) -> str:
    import base64
    import hashlib
    import hmac

    return base64.b64encode(hmac.new(fake.secret.encode(), body, hashlib.sha256).digest()).decode()
