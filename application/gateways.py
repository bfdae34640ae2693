"""The gateway chain as the application sees it.

`GatewayChain` iterates in authorization order (primary, secondary, tertiary...) and also
holds the configured gateways that are no longer in the chain: a payment is always captured,
voided or refunded at the gateway that authorized it, even after the chain is reconfigured.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Sequence
from typing import overload

from application.ports import PaymentGateway


class GatewayChain(Sequence[PaymentGateway]):
    def __init__(self, chain: Iterable[PaymentGateway], others: Iterable[PaymentGateway] = ()):
        self.chain = list(chain)
        names = {g.name for g in self.chain}
        self.others = [g for g in others if g.name not in names]

    @overload
    def __getitem__(self, index: int) -> PaymentGateway: ...
    @overload
    def __getitem__(self, index: slice) -> Sequence[PaymentGateway]: ...
    def __getitem__(self, index: int | slice) -> PaymentGateway | Sequence[PaymentGateway]:
        return self.chain[index]

    def __len__(self) -> int:
        return len(self.chain)

    def __iter__(self) -> Iterator[PaymentGateway]:
        return iter(self.chain)

    def everyone(self) -> list[PaymentGateway]:
        return [*self.chain, *self.others]


def gateway_named(gateways: Sequence[PaymentGateway], name: str | None) -> PaymentGateway | None:
    """The gateway of that name, in the chain or merely configured."""
    every = gateways.everyone() if isinstance(gateways, GatewayChain) else list(gateways)
    return next((g for g in every if g.name == name), None)


def provider_gateway(gateways: Sequence[PaymentGateway], provider: str) -> PaymentGateway | None:
    """One gateway of a provider: it reads that provider's webhooks."""
    every = gateways.everyone() if isinstance(gateways, GatewayChain) else list(gateways)
    return next((g for g in every if getattr(g, "provider", g.name) == provider), None)


def join_tokens(tokens: dict[str, str]) -> str:
    """A card's tokens, one per provider (a token only works where it was made)."""
    return json.dumps(tokens, sort_keys=True, separators=(",", ":"))


def token_for(tokens: str, provider: str) -> str | None:
    """The card's token at that provider; a bare token (recorded before tokens were kept per
    provider) is the sandbox vault's, which all sandbox acquirers share."""
    if not tokens.startswith("{"):
        return tokens if provider == "sandbox" else None
    found = json.loads(tokens).get(provider)
    return str(found) if found else None
