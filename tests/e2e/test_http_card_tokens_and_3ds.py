"""Cards tokenized in the browser and 3-D Secure, over HTTP, against local Stripe and Mercado
Pago that follow their documented APIs (tests/fakes): the API never takes a card number
from a real provider's checkout, a 3-D Secure card waits in `awaiting_authentication` and is
authenticated then captured, or abandoned and expired with its stock back."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from infrastructure.settings import Settings
from tests.e2e.conftest import PRODUCT, configured
from tests.fakes.mercadopago import FakeMercadoPago
from tests.fakes.stripe import FakeStripe

API = "/api/v1"
ADDRESS = {
    "line1": "Rua da Aurora 300",
    "line2": "",
    "city": "Recife",
    "state": "PE",
    "postal_code": "50050-000",
    "country": "BR",
}
APPROVED, THREE_DS = "4242424242424242", "4000002500003155"
RAW_CARD = {"card_number": APPROVED, "expiry": "12/39", "cvc": "123", "holder": "Ana Souza"}


@pytest.fixture
def stripe() -> Iterator[FakeStripe]:
    with FakeStripe() as fake:
        yield fake


@pytest.fixture
def mercadopago() -> Iterator[FakeMercadoPago]:
    with FakeMercadoPago() as fake:
        yield fake


@pytest.fixture
def chain() -> str:
    return "stripe"  # a test parametrized with its own chain overrides this


def stripe_settings(stripe: FakeStripe, chain: str) -> dict[str, object]:
    """The gateway chain with Stripe's fake, as the settings of a card test name it."""
    return {
        "ECOVAREJO_PAYMENT_TIMEOUT_S": 30,
        "ECOVAREJO_GATEWAYS": chain,
        "ECOVAREJO_STRIPE_API_KEY": stripe.api_key,
        "ECOVAREJO_STRIPE_WEBHOOK_SECRET": stripe.webhook_secret,
        "ECOVAREJO_STRIPE_API_BASE": stripe.url,
        "ECOVAREJO_STRIPE_PUBLISHABLE_KEY": stripe.publishable_key,
    }


@pytest.fixture
def settings(
    database_url: str,
    redis_url: str,
    tmp_path: Path,
    chain: str,
    stripe: FakeStripe,
    mercadopago: FakeMercadoPago,
) -> Settings:
    return configured(
        database_url,
        redis_url,
        tmp_path,
        **stripe_settings(stripe, chain),
        ECOVAREJO_AUTHENTICATION_EXPIRY_S=3,
        ECOVAREJO_MERCADOPAGO_ACCESS_TOKEN=mercadopago.access_token,
        ECOVAREJO_MERCADOPAGO_WEBHOOK_SECRET=mercadopago.webhook_secret,
        ECOVAREJO_MERCADOPAGO_API_BASE=mercadopago.url,
        ECOVAREJO_MERCADOPAGO_PUBLIC_KEY=mercadopago.public_key,
    )


def check_out(client, auth, payment: dict, sub: str = "bia", quantity: int = 2):
    cart_id = client.post(f"{API}/carts", json={}, headers=auth(sub=sub)).json()["cart_id"]
    client.post(
        f"{API}/carts/{cart_id}/items",
        json={"sku": PRODUCT["sku"], "quantity": quantity},
        headers=auth(sub=sub),
    )
    response = client.post(
        f"{API}/carts/{cart_id}/checkout",
        json={"shipping_address": ADDRESS, "payment": payment},
        headers=auth(sub=sub),
    )
    return cart_id, response


def order_when(client, auth, order_id: str, done, timeout_s: float = 20) -> dict:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        body = client.get(f"{API}/orders/{order_id}", headers=auth(sub="bia")).json()
        if "order_id" in body and done(body):
            return body
        time.sleep(0.05)
    raise AssertionError(f"order {order_id} never got there: {body}")


def cart_of(client, auth, cart_id: str, sub: str = "bia", timeout_s: float = 20) -> dict:
    """The cart's read model once it is projected (a GET without a token may race it)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        body = client.get(f"{API}/carts/{cart_id}", headers=auth(sub=sub)).json()
        if "cart_id" in body:
            return body
        time.sleep(0.05)
    raise AssertionError(f"cart {cart_id} never projected: {body}")


def placed(client, auth, payment: dict) -> dict:
    _, response = check_out(client, auth, payment)
    assert response.status_code == 202, response.text
    order_id = response.json()["order_id"]
    return order_when(client, auth, order_id, lambda o: o["status"] != "pending")


def available(client, auth) -> int:
    return client.get(f"{API}/stock-items/{PRODUCT['sku']}", headers=auth()).json()["available"]


def deliver(client, headers: dict[str, str], body: bytes):
    headers = {**headers, "content-type": "application/json"}
    return client.post(f"{API}/payments/webhooks/stripe", content=body, headers=headers)


def authentication(client, auth, payment_id: str, sub: str = "bia") -> dict:
    """What finishes 3-D Secure, asked of the provider by the API just now (never stored)."""
    answer = client.get(f"{API}/payments/{payment_id}/authentication", headers=auth(sub=sub))
    assert answer.status_code == 200, answer.text
    assert answer.headers["cache-control"] == "no-store"
    return dict(answer.json())


def intent_of(client, auth, payment_id: str) -> str:
    return str(authentication(client, auth, payment_id)["client_secret"]).split("_secret_")[0]


def wait_for(predicate, what: str, timeout_s: float = 20) -> None:
    deadline = time.monotonic() + timeout_s
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def test_the_payments_config_names_the_provider_and_its_public_key(client):
    config = client.get(f"{API}/payments/config").json()
    assert config["card"]["provider"] == "stripe"
    assert config["card"]["public_key"] == "pk_test_fake"
    assert config["card"]["sdk"].startswith("https://js.stripe.com/")
    assert config["card"]["raw_card_fields"] is False
    assert config["max_installments"] == 6


def test_a_card_number_is_refused_when_a_real_provider_tokenizes_and_nothing_is_placed(
    client, auth, product, stripe
):
    cart_id, response = check_out(client, auth, {"method": "card", **RAW_CARD})
    assert response.status_code == 422, response.text
    assert "card_token" in response.json()["detail"]
    assert cart_of(client, auth, cart_id)["status"] == "open"
    assert not [r for r in stripe.requests if APPROVED.encode() in r.raw]
    assert client.post(f"{API}/payments/sandbox/tokens", json=RAW_CARD).status_code == 404


def test_a_stripe_card_with_3ds_is_authenticated_then_captured(client, auth, product, stripe):
    token = stripe.stripe_js_card(THREE_DS)
    order = placed(client, auth, {"method": "card", "card_token": token, "installments": 2})
    assert order["status"] == "awaiting_authentication", order
    payment = order["payment"]
    assert set(payment["authentication"]) == {"expires_at"}  # no secret in a read model
    action = authentication(client, auth, payment["payment_id"])
    assert action["client_secret"].startswith("pi_")
    assert action["expires_at"] == payment["authentication"]["expires_at"]
    assert (payment["brand"], payment["last4"]) == ("visa", "3155")
    assert available(client, auth) == 8  # held while the shopper authenticates
    someone_else = client.get(
        f"{API}/payments/{payment['payment_id']}/authentication", headers=auth(sub="eve")
    )
    assert someone_else.status_code == 404

    intent_id = action["client_secret"].split("_secret_")[0]
    stripe.authenticate(intent_id, ok=True)  # Stripe.js handleNextAction, in the browser
    confirmed = client.post(
        f"{API}/payments/{payment['payment_id']}/authentication",
        json={"authorization_id": intent_id},
        headers=auth(sub="bia"),
    )
    assert confirmed.status_code == 200, confirmed.text
    assert confirmed.json()["status"] == "authorized"
    order = order_when(client, auth, order["order_id"], lambda o: o["status"] == "confirmed")
    assert order["payment"]["authentication"] is None

    shipped = client.post(
        f"{API}/orders/{order['order_id']}/ship",
        json={"carrier": "Correios", "tracking_code": "BR123"},
        headers=auth("admin", "adm"),
    )
    assert shipped.status_code == 202, shipped.text
    wait_for(lambda: len(stripe.moved("capture")) == 1, "the capture at Stripe")
    assert stripe.moved("capture")[0]["id"] == intent_id


def test_an_abandoned_3ds_expires_and_the_stock_comes_back(client, auth, product, stripe):
    token = stripe.stripe_js_card(THREE_DS)
    order = placed(client, auth, {"method": "card", "card_token": token})
    assert order["status"] == "awaiting_authentication"
    assert available(client, auth) == 8
    cancelled = order_when(
        client, auth, order["order_id"], lambda o: o["status"] == "cancelled", timeout_s=30
    )
    assert cancelled["cancellation_reason"] == "payment_expired"
    wait_for(lambda: available(client, auth) == 10, "the stock to come back")
    intent_id = cancelled["payment"]["payment_id"] and stripe.moved("void")[0]["id"]
    assert stripe.intents[intent_id]["status"] == "canceled"  # cannot be finished later


def test_a_3ds_result_comes_by_webhook_and_one_for_another_intent_is_ignored(
    client, auth, product, stripe
):
    order = placed(client, auth, {"method": "card", "card_token": stripe.stripe_js_card(THREE_DS)})
    payment_id = order["payment"]["payment_id"]
    intent_id = intent_of(client, auth, order["payment"]["payment_id"])
    other = {"id": "pi_someoneelse", "amount": 25980, "metadata": {"payment_id": payment_id}}
    headers, body = stripe.webhook("payment_intent.amount_capturable_updated", other)
    ignored = deliver(client, headers, body)
    assert ignored.json().get("outcome") == "ignored", ignored.text
    wrong = client.post(
        f"{API}/payments/{payment_id}/authentication",
        json={"authorization_id": "pi_someoneelse"},
        headers=auth(sub="bia"),
    )
    assert wrong.status_code == 422

    intent = stripe.authenticate(intent_id, ok=True)
    headers, body = stripe.webhook("payment_intent.amount_capturable_updated", intent)
    applied = deliver(client, headers, body)
    assert applied.json()["outcome"] == "applied", applied.text
    order_when(client, auth, order["order_id"], lambda o: o["status"] == "confirmed")


def test_a_failed_3ds_cancels_the_order_as_declined(client, auth, product, stripe):
    order = placed(client, auth, {"method": "card", "card_token": stripe.stripe_js_card(THREE_DS)})
    intent_id = intent_of(client, auth, order["payment"]["payment_id"])
    stripe.authenticate(intent_id, ok=False)
    answer = client.post(
        f"{API}/payments/{order['payment']['payment_id']}/authentication",
        json={},
        headers=auth(sub="bia"),
    )
    assert answer.json()["status"] == "declined"
    cancelled = order_when(client, auth, order["order_id"], lambda o: o["status"] == "cancelled")
    assert cancelled["cancellation_reason"] == "payment_declined"
    wait_for(lambda: available(client, auth) == 10, "the stock to come back")


@pytest.mark.parametrize("chain", ["mercadopago"])
def test_a_mercadopago_token_checkout_in_6_installments(client, auth, product, mercadopago):
    token = mercadopago.mercadopago_js_card(APPROVED)
    order = placed(client, auth, {"method": "card", "card_token": token, "installments": 6})
    assert order["status"] == "confirmed", order
    assert order["payment"]["installments"]["count"] == 6
    assert (order["payment"]["brand"], order["payment"]["last4"]) == ("visa", "4242")
    (made,) = mercadopago.payments.values()
    assert (made["installments"], made["status"]) == (6, "authorized")
    assert not [
        r
        for r in mercadopago.requests
        if "public_key" not in r.query and APPROVED.encode() in r.raw
    ]

    _, response = check_out(client, auth, {"method": "card", "card_token": token})
    assert response.status_code == 422, response.text  # single use: it paid once already
    assert "card_token" in response.json()["detail"]


@pytest.mark.parametrize("chain", ["mercadopago"])
def test_a_stripe_token_sent_to_a_mercadopago_shop_is_refused(client, auth, product, stripe):
    _, response = check_out(
        client, auth, {"method": "card", "card_token": stripe.stripe_js_card(APPROVED)}
    )
    assert response.status_code == 422


def test_a_confirmation_while_the_provider_is_down_is_503_and_changes_nothing(
    client, auth, product, stripe
):
    order = placed(client, auth, {"method": "card", "card_token": stripe.stripe_js_card(THREE_DS)})
    payment_id = order["payment"]["payment_id"]
    stripe.faults.append("500")
    down = client.post(
        f"{API}/payments/{payment_id}/authentication", json={}, headers=auth(sub="bia")
    )
    assert down.status_code == 503, down.text
    stripe.faults.append("500")  # the client secret is asked of Stripe: down, 503 too
    unread = client.get(f"{API}/payments/{payment_id}/authentication", headers=auth(sub="bia"))
    assert unread.status_code == 503, unread.text
    assert unread.headers["retry-after"] == "5"
    still = client.post(
        f"{API}/payments/{payment_id}/authentication", json={}, headers=auth(sub="bia")
    )
    assert still.json()["status"] == "awaiting_action"
    other = client.post(
        f"{API}/payments/{payment_id}/authentication", json={}, headers=auth(sub="someone")
    )
    assert other.status_code == 404
