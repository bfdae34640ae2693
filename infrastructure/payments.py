"""The sandbox payment gateway: behaves like a real acquirer, with deterministic test cards.

State (tokens, authorizations, captures) is kept in Redis under `sandbox:` so that the API
(which tokenizes) and the workers (which authorize, capture, void) see the same gateway,
as they would a real one. Card numbers are never kept: a token records only the brand,
the last four digits and how the test card behaves.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any

import redis

from application.ports import Authorization, CardToken, GatewayError
from domain.money import Money

# Test cards of DESIGN.md: number -> behaviour
TEST_CARDS = {
    "4000000000000002": "declined",
    "4000000000009995": "insufficient_funds",
    "4000000000000119": "primary_processing_error",
}
GATEWAY_NAMES = ("primary", "secondary", "tertiary")


def card_brand(number: str) -> str:
    if number.startswith("4"):
        return "visa"
    if number[:2] in {"51", "52", "53", "54", "55"} or "2221" <= number[:4] <= "2720":
        return "mastercard"
    if number[:2] in {"34", "37"}:
        return "amex"
    if number.startswith(("4011", "4312", "4389", "5041", "5066", "5067", "6362", "6363")):
        return "elo"
    return "other"


class SandboxGateway:
    """One sandbox acquirer (`primary`, `secondary` or `tertiary`); all share a token vault."""

    def __init__(self, name: str, client: redis.Redis, secret: bytes = b"sandbox"):
        self.name = name
        self._redis = client
        self._secret = secret
        self._record = client.register_script(
            "if redis.call('SET', KEYS[1], ARGV[1], 'NX') then "
            "redis.call('RPUSH', KEYS[2], ARGV[2]) return 1 end return 0"
        )

    # The vault ---------------------------------------------------------------------------
    def tokenize(self, number: str, expiry: str, cvc: str, holder: str) -> CardToken:
        digest = hmac.new(self._secret, f"{number}|{expiry}".encode(), hashlib.sha256)
        token = "tok_" + digest.hexdigest()[:24]
        card = {
            "brand": card_brand(number),
            "last4": number[-4:],
            "behaviour": TEST_CARDS.get(number, "approved"),
        }
        self._redis.set(f"sandbox:token:{token}", json.dumps(card))
        return CardToken(token, card["brand"], card["last4"])

    def _card(self, token: str) -> dict[str, str]:
        raw = self._redis.get(f"sandbox:token:{token}")
        if raw is None:
            raise GatewayError(f"{self.name}: unknown token")
        card: dict[str, str] = json.loads(raw)
        return card

    # Idempotent operations ---------------------------------------------------------------
    def _once(self, key: str, compute: Any) -> dict[str, Any]:
        """Answer a key's first result again; only the first call moves money."""
        ledger = f"sandbox:{self.name}:ops:{key}"
        existing = self._redis.get(ledger)
        if existing is not None:
            answer: dict[str, Any] = json.loads(existing)
            return answer
        result = compute()
        # The answer and the ledger line are written together, as a real acquirer's books
        # are: a crash between the two must not leave a charge without its line.
        recorded = self._record(
            keys=[ledger, f"sandbox:{self.name}:ledger"],
            args=[json.dumps(result), json.dumps({"key": key, **result})],
        )
        return dict(result) if recorded else self._once(key, compute)

    def authorize(self, token: str, amount: Money, key: str) -> Authorization:
        card = self._card(token)
        if card["behaviour"] == "primary_processing_error" and self.name == "primary":
            raise GatewayError("primary: processing error")

        def decide() -> dict[str, Any]:
            if card["behaviour"] in ("declined", "insufficient_funds"):
                return {"op": "authorize", "approved": False, "reason": card["behaviour"]}
            return {
                "op": "authorize",
                "approved": True,
                "authorization_id": f"{self.name}-{key}",
                "amount": str(amount.amount),
            }

        result = self._once(f"authorize:{key}", decide)
        return Authorization(
            result["approved"], result.get("authorization_id", ""), result.get("reason", "")
        )

    def capture(self, authorization_id: str, amount: Money, key: str) -> None:
        self._once(
            f"capture:{key}",
            lambda: {
                "op": "capture",
                "authorization_id": authorization_id,
                "amount": str(amount.amount),
            },
        )

    def void(self, authorization_id: str, key: str) -> None:
        self._once(f"void:{key}", lambda: {"op": "void", "authorization_id": authorization_id})

    def refund(self, authorization_id: str, amount: Money, key: str) -> None:
        self._once(
            f"refund:{key}",
            lambda: {
                "op": "refund",
                "authorization_id": authorization_id,
                "amount": str(amount.amount),
            },
        )

    def ledger(self) -> list[dict[str, Any]]:
        """Every operation that moved money, once each (what a reconciliation report shows)."""
        rows: list[bytes] = self._redis.lrange(f"sandbox:{self.name}:ledger", 0, -1)  # type: ignore[assignment]
        return [json.loads(r) for r in rows]


def sandbox_chain(client: redis.Redis) -> list[SandboxGateway]:
    return [SandboxGateway(name, client) for name in GATEWAY_NAMES]
