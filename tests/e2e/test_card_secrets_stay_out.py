"""What stands for a card or for the provider's payment never lands where we keep things:
after a Stripe 3-D Secure flow the intent's client secret is in no event, no read model and
no Redis key (the API reads it from Stripe when the front end asks); after a PagBank
checkout the `encryptCard` blob (card number and security code, encrypted) is in no event
and, once charged, nowhere in Redis either: PagBank's own card id replaced it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from infrastructure.settings import Settings
from tests.e2e.conftest import configured
from tests.e2e.test_http_card_tokens_and_3ds import (
    API,
    APPROVED,
    THREE_DS,
    authentication,
    chain,  # noqa: F401 (a fixture: Stripe alone)
    order_when,
    placed,
    stripe,  # noqa: F401 (a fixture: Stripe's fake)
    stripe_settings,
)
from tests.fakes.pagseguro import FakePagSeguro
from tests.fakes.stripe import FakeStripe
from tests.integration.test_lgpd import found_in_postgres, found_in_redis


@pytest.fixture
def pagseguro() -> Iterator[FakePagSeguro]:
    with FakePagSeguro() as fake:
        yield fake


@pytest.fixture
def settings(
    database_url: str,
    redis_url: str,
    tmp_path: Path,
    chain: str,  # noqa: F811 (the fixture imported above)
    stripe: FakeStripe,  # noqa: F811
    pagseguro: FakePagSeguro,
) -> Settings:
    return configured(
        database_url,
        redis_url,
        tmp_path,
        **stripe_settings(stripe, chain),
        ECOVAREJO_PAGSEGURO_TOKEN=pagseguro.token,
        ECOVAREJO_PAGSEGURO_API_BASE=pagseguro.url,
        ECOVAREJO_PAGSEGURO_PUBLIC_KEY="pagbank-public-key",
    )


def nowhere(container, needle: str) -> None:
    assert found_in_postgres(container.database_url, needle) == [], needle
    assert found_in_redis(container.redis_url, needle) == [], needle


def test_stripes_client_secret_is_read_from_stripe_and_kept_nowhere(
    client,
    auth,
    product,
    stripe,  # noqa: F811 (the fixture imported above)
):
    order = placed(client, auth, {"method": "card", "card_token": stripe.stripe_js_card(THREE_DS)})
    payment_id = order["payment"]["payment_id"]
    secret = authentication(client, auth, payment_id)["client_secret"]
    intent_id = secret.split("_secret_")[0]
    assert stripe.intents[intent_id]["client_secret"] == secret  # Stripe's own, read now
    container = client.app.state.container
    assert found_in_postgres(container.database_url, intent_id)  # the search finds things
    nowhere(container, secret)
    nowhere(container, "_secret_")

    stripe.authenticate(intent_id, ok=True)
    confirmed = client.post(
        f"{API}/payments/{payment_id}/authentication", json={}, headers=auth(sub="bia")
    )
    assert confirmed.json()["status"] == "authorized", confirmed.text
    order_when(client, auth, order["order_id"], lambda o: o["status"] == "confirmed")
    decided = authentication(client, auth, payment_id)
    assert (decided["client_secret"], decided["redirect_url"]) == (None, None)
    nowhere(container, "_secret_")


@pytest.mark.parametrize("chain", ["pagseguro"])
def test_pagbanks_encrypted_card_is_exchanged_for_its_card_id_and_kept_nowhere(
    client, auth, product, pagseguro
):
    blob = pagseguro.encrypt_card(APPROVED)
    order = placed(client, auth, {"method": "card", "card_token": blob, "installments": 2})
    assert order["status"] == "confirmed", order
    container = client.app.state.container
    for piece in (blob, blob[:48], blob[-48:]):
        nowhere(container, piece)

    (charged,) = [r for r in pagseguro.requests if r.path == "/charges"]
    method = charged.params["payment_method"]
    assert method["store"] is True
    assert method["card"] == {"encrypted": blob}
    (card_id,) = pagseguro.stored_cards
    assert found_in_redis(container.redis_url, card_id)  # the blob's place: PagBank's id
    assert APPROVED.encode() not in b"".join(r.raw for r in pagseguro.requests)
