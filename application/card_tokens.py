"""Cards tokenized in the shopper's browser: the API takes a provider's token, never a card.

The front end asks `GET /payments/config` which provider tokenizes (the first card gateway
of the chain) with which public key, makes the token there with that provider's SDK, and
checks out with `{method: card, card_token, installments}`. The token is read back from the
provider (a token of another provider, unknown, expired or used is refused: 422), and only
it, the brand and the last four go on. A token works only at the provider that made it, so
failover stays among that provider's gateways (the sandbox's three acquirers share one).

Raw card fields are the sandbox's convenience for development and its test cards: accepted
only when the sandbox tokenizes and never in production (`raw_cards_allowed`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from application.errors import GatewayUnavailableError
from application.gateways import GatewayChain, join_tokens
from application.ports import CardToken, GatewayError, PaymentGateway, UnusableCardTokenError
from domain.base import InvalidInputError


class CardTokenRefusedError(InvalidInputError):
    """The card token is not a live, unused token of the provider that tokenizes."""


class RawCardRefusedError(InvalidInputError):
    """A card number was sent where only a provider's card token is accepted."""


def provider_of(gateway: PaymentGateway) -> str:
    return str(getattr(gateway, "provider", gateway.name))


def every_gateway(gateways: Sequence[PaymentGateway]) -> list[PaymentGateway]:
    """The chain and the gateways merely configured (money they hold is still theirs)."""
    return gateways.everyone() if isinstance(gateways, GatewayChain) else list(gateways)


def card_gateway(gateways: Sequence[PaymentGateway]) -> PaymentGateway | None:
    """The gateway whose provider tokenizes cards: the first of the chain taking cards."""
    return next((g for g in gateways if "card" in getattr(g, "methods", {"card"})), None)


def accept_card_token(gateways: Sequence[PaymentGateway], token: str) -> CardToken:
    """The browser-made token, checked with its provider; kept as `{provider: token}`."""
    gateway = card_gateway(gateways)
    if gateway is None:
        raise CardTokenRefusedError("no configured gateway takes cards")
    try:
        card = gateway.accept_token(token)
    except UnusableCardTokenError as error:
        raise CardTokenRefusedError(f"card_token refused: {error}") from None
    except GatewayError:
        raise GatewayUnavailableError("the card's provider did not answer; try again") from None
    return CardToken(join_tokens({provider_of(gateway): card.token}), card.brand, card.last4)


def check_raw_card_allowed(gateways: Sequence[PaymentGateway], allowed: bool) -> None:
    """Raw card fields: only for the sandbox, and never in production."""
    gateway = card_gateway(gateways)
    if not allowed or gateway is None or provider_of(gateway) != "sandbox":
        raise RawCardRefusedError(
            "card numbers are not accepted here: send the card_token made by the provider's "
            "browser SDK (see GET /api/v1/payments/config)"
        )


def payments_config(
    gateways: Sequence[PaymentGateway], max_installments: int, raw_cards: bool
) -> dict[str, Any]:
    """What a front end needs to take a card: the provider and its public key and SDK."""
    gateway = card_gateway(gateways)
    methods = sorted({m for g in gateways for m in getattr(g, "methods", {"card"})})
    card: dict[str, Any] | None = None
    if gateway is not None:
        card = {"provider": provider_of(gateway), **gateway.public_config()}
        card["raw_card_fields"] = raw_cards and provider_of(gateway) == "sandbox"
    return {"methods": methods, "card": card, "max_installments": max_installments}
