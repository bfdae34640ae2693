"""The sandbox vault spends a card token as Stripe and Mercado Pago do: at the first
authorization made with it, not when a checkout reads it. A checkout refused after reading
the token (its order never committed) leaves the shopper's token good."""

from __future__ import annotations

from uuid import uuid4

import pytest
import redis

from application.ports import GatewayError, UnusableCardTokenError
from domain.money import Money
from infrastructure.gateways.payments.sandbox import sandbox_chain

APPROVED, PROCESSING = "4242424242424242", "4000000000000119"


@pytest.fixture
def acquirers(redis_url: str):
    client = redis.Redis.from_url(redis_url)  # the redis_url fixture flushed it already
    yield sandbox_chain(client, "secret")
    client.close()


def test_reading_a_token_does_not_spend_it_and_the_first_authorization_does(acquirers):
    primary = acquirers[0]
    token = primary.tokenize(APPROVED, "12/39", "123", "Ana").token
    # A checkout reads it, then is refused before its order commits: read again, still good.
    assert primary.accept_token(token).last4 == "4242"
    assert primary.accept_token(token).last4 == "4242"
    key = str(uuid4())
    assert primary.authorize(token, Money.brl("10.00"), key=key).approved
    assert primary.authorize(token, Money.brl("10.00"), key=key).approved  # a repeat
    with pytest.raises(UnusableCardTokenError, match="used already"):
        primary.accept_token(token)
    other = primary.authorize(token, Money.brl("10.00"), key=str(uuid4()))
    assert (other.approved, other.decline_reason) == (False, "card_token_used")


def test_a_token_spent_by_one_payment_still_fails_over_to_another_acquirer(acquirers):
    primary, secondary, _ = acquirers
    token = primary.tokenize(PROCESSING, "12/39", "123", "Ana").token
    key = str(uuid4())
    with pytest.raises(GatewayError, match="processing error"):
        primary.authorize(token, Money.brl("10.00"), key=key)
    assert secondary.authorize(token, Money.brl("10.00"), key=key).approved
