"""The sandbox payment gateway: behaves like a real acquirer, with deterministic test cards,
and like a Pix/boleto provider whose payer is played by `ecovarejo sandbox pay`.

State (tokens, authorizations, captures, charges) is kept in Redis under `sandbox:` so that
the API (which tokenizes), the workers (which authorize, capture, void, issue) and the CLI
(which pays) see the same gateway, as they would a real one. Card numbers are never kept: a
token is random (nothing of the card can be derived from it) and records only the brand, the
last four digits and how the test card behaves.

Its webhooks carry `X-Sandbox-Signature: sha256=<hex HMAC-SHA256 of the raw body>` with
ECOVAREJO_SANDBOX_WEBHOOK_SECRET, and a body `{id, type: charge.paid|charge.expired,
charge_id, reference, amount}`, or for a card's dispute `{id, type: dispute.opened|won|lost,
dispute_id, charge_id, reference, amount, evidence_due_by}`.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import secrets
from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

import redis

from application.ports import (
    UNREADABLE,
    Authorization,
    CardToken,
    Charge,
    CustomerAction,
    DisputeNote,
    GatewayError,
    GatewayNotification,
    InvalidWebhookError,
    MalformedWebhookError,
    Payer,
    UnusableCardTokenError,
)
from domain.boleto import Boleto
from domain.money import Money
from domain.pix import PixCharge

# Test cards of DESIGN.md: number -> behaviour
TEST_CARDS = {
    "4000000000000002": "declined",
    "4000000000009995": "insufficient_funds",
    "4000000000000119": "primary_processing_error",
    "4000002500003155": "authentication_required",  # 3-D Secure, as Stripe's test card
}
SANDBOX_TOKEN = re.compile(r"tok_[0-9a-f]{24}")
SANDBOX_PUBLIC_KEY = "pk_sandbox"  # nothing secret: as a provider's publishable key
TOKENIZATION_PATH = "/api/v1/payments/sandbox/tokens"
CHALLENGE_PATH = "/sandbox-provider/challenge/"  # the issuer's page (api/sandbox_provider)
SDK_PATH = "/sandbox-provider/v1/sandbox.js"  # its browser SDK
GATEWAY_NAMES = ("primary", "secondary", "tertiary")
SIGNATURE_HEADER = "x-sandbox-signature"
SANDBOX_BANK = "999"  # not a COMPE bank code: a sandbox boleto can never be paid for real


def sandbox_signature(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


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

    provider = "sandbox"
    methods = frozenset({"card", "pix", "boleto"})

    def __init__(self, name: str, client: redis.Redis, webhook_secret: str = "", pix_key: str = ""):
        self.name = name
        self._redis = client
        self._webhook_secret = webhook_secret
        self._pix_key = pix_key or "pix@ecovarejo.com.br"
        self._record = client.register_script(
            "if redis.call('SET', KEYS[1], ARGV[1], 'NX') then "
            "redis.call('RPUSH', KEYS[2], ARGV[2]) return 1 end return 0"
        )

    # The vault ---------------------------------------------------------------------------
    def tokenize(self, number: str, expiry: str, cvc: str, holder: str) -> CardToken:
        token = "tok_" + secrets.token_hex(12)
        card = {
            "brand": card_brand(number),
            "last4": number[-4:],
            "behaviour": TEST_CARDS.get(number, "approved"),
        }
        self._redis.set(f"sandbox:token:{token}", json.dumps(card))
        return CardToken(token, card["brand"], card["last4"])

    def accept_token(self, token: str) -> CardToken:
        """A token the sandbox's tokenization endpoint made (as a browser SDK would) and no
        payment used yet. Reading it does not use it up: as at Stripe (a ConfirmationToken is
        used by the PaymentIntent confirmed with it) and Mercado Pago (a card token by the
        payment created with it), the first authorization does (`_use_token`), so a
        checkout refused after this check leaves the shopper's token good."""
        if SANDBOX_TOKEN.fullmatch(token) is None:
            raise UnusableCardTokenError("not a sandbox card token")
        try:
            card = self._card(token)
        except GatewayError:
            raise UnusableCardTokenError("the sandbox does not know this card token") from None
        if self._redis.exists(f"sandbox:token-used:{token}"):
            raise UnusableCardTokenError("this sandbox card token was used already")
        return CardToken(token, card["brand"], card["last4"])

    def _use_token(self, token: str, key: str) -> bool:
        """The token is spent by the payment `key` (the same payment again, on another
        acquirer or after a crash, may go on); False if another payment spent it."""
        used = f"sandbox:token-used:{token}"
        if self._redis.set(used, key, nx=True):
            return True
        return self._redis.get(used) == key.encode()

    def public_config(self) -> dict[str, str]:
        return {
            "public_key": SANDBOX_PUBLIC_KEY,
            "sdk": SDK_PATH,
            "tokenization_url": TOKENIZATION_PATH,
        }

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

    def authorize(
        self, token: str, amount: Money, key: str, installments: int = 1
    ) -> Authorization:
        card = self._card(token)
        if card["behaviour"] == "primary_processing_error" and self.name == "primary":
            raise GatewayError("primary: processing error")

        def decide() -> dict[str, Any]:
            if not self._use_token(token, key):
                return {"op": "authorize", "approved": False, "reason": "card_token_used"}
            if card["behaviour"] in ("declined", "insufficient_funds"):
                return {"op": "authorize", "approved": False, "reason": card["behaviour"]}
            if card["behaviour"] == "authentication_required":
                return {
                    "op": "challenge",
                    "approved": False,
                    "authorization_id": f"{self.name}-{key}",
                }
            return {
                "op": "authorize",
                "approved": True,
                "authorization_id": f"{self.name}-{key}",
                "amount": str(amount.amount),
                "installments": installments,
            }

        result = self._once(f"authorize:{key}", decide)
        if result["op"] == "challenge":
            return self.authentication_result(result["authorization_id"])
        return Authorization(
            result["approved"], result.get("authorization_id", ""), result.get("reason", "")
        )

    # 3-D Secure: the sandbox's challenge page stands for the issuer's ---------------------
    def authentication_result(self, authorization_id: str) -> Authorization:
        outcome = self._redis.get(f"sandbox:challenge:{authorization_id}")
        if outcome == b"authenticated":
            return Authorization(True, authorization_id)
        if outcome == b"failed":
            return Authorization(False, authorization_id, "authentication_failed")
        action = CustomerAction(f"{authorization_id}_secret", CHALLENGE_PATH + authorization_id)
        return Authorization(False, authorization_id, action=action)

    def has_challenge(self, authorization_id: str) -> bool:
        """This acquirer asked the shopper to authenticate `authorization_id`."""
        if not authorization_id.startswith(self.name + "-"):
            return False
        key = authorization_id.removeprefix(self.name + "-")
        raw = self._redis.get(f"sandbox:{self.name}:ops:authorize:{key}")
        return raw is not None and json.loads(raw).get("op") == "challenge"

    def answer_challenge(self, authorization_id: str, authenticated: bool) -> bool:
        """The shopper passes (or fails) the sandbox's challenge; False if there is none."""
        if not self.has_challenge(authorization_id):
            return False
        outcome = "authenticated" if authenticated else "failed"
        self._redis.set(f"sandbox:challenge:{authorization_id}", outcome, nx=True)
        return True

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

    # Pix and boleto ----------------------------------------------------------------------
    def issue(
        self, method: str, amount: Money, key: str, payer: Payer, expires_at: datetime
    ) -> Charge:
        """A Pix BR Code or a boleto for the payment `key`; the same key gives the same
        charge again. The charge is kept so the sandbox payer can pay it."""

        def create() -> dict[str, Any]:
            charge_id = f"{self.name}-{method}-{key}"
            found: dict[str, Any] = {
                "op": "issue",
                "method": method,
                "charge_id": charge_id,
                "reference": key,
                "amount": str(amount.amount),
                "expires_at": expires_at.isoformat(),
            }
            if method == "pix":
                found["pix"] = PixCharge(
                    amount=amount,
                    txid=UUID(key).hex[:25],
                    merchant_name="EcoVarejo",
                    merchant_city="Sao Paulo",
                    key=self._pix_key,
                ).br_code()
            elif method == "boleto":
                found["boleto"] = Boleto(
                    bank=SANDBOX_BANK,
                    amount=amount,
                    due_date=expires_at.date(),
                    free_field=f"{UUID(key).int % 10**25:025d}",
                ).digitable_line
            else:
                raise GatewayError(f"{self.name}: cannot issue {method}")
            return found

        result = self._once(f"issue:{key}", create)
        self._redis.set(f"sandbox:charge:{result['charge_id']}", json.dumps(result))
        return Charge(
            result["charge_id"],
            datetime.fromisoformat(result["expires_at"]),
            pix_copy_paste=result.get("pix", ""),
            boleto_line=result.get("boleto", ""),
        )

    def charge(self, charge_id: str) -> dict[str, Any] | None:
        raw = self._redis.get(f"sandbox:charge:{charge_id}")
        return None if raw is None else dict(json.loads(raw))

    def payer_webhook(
        self, charge: Mapping[str, Any], *, expire: bool = False, amount: Decimal | None = None
    ) -> tuple[dict[str, str], bytes]:
        """The signed webhook the sandbox sends when its payer pays (or lets the charge
        expire): headers and raw body, as an HTTP delivery would carry them."""
        body = json.dumps(
            {
                "id": f"evt_{secrets.token_hex(8)}",
                "type": "charge.expired" if expire else "charge.paid",
                "charge_id": charge["charge_id"],
                "reference": charge["reference"],
                "amount": str(amount if amount is not None else charge["amount"]),
            }
        ).encode()
        headers = {
            "content-type": "application/json",
            SIGNATURE_HEADER: sandbox_signature(self._webhook_secret, body),
        }
        return headers, body

    def dispute_webhook(
        self,
        authorization_id: str,
        reference: str,
        amount: Decimal,
        outcome: str = "opened",
        evidence_due_by: datetime | None = None,
    ) -> tuple[dict[str, str], bytes]:
        """The signed webhook the sandbox sends when a cardholder's bank disputes a capture
        (`dispute.opened`) and when the dispute ends (`dispute.won` / `dispute.lost`)."""
        body = json.dumps(
            {
                "id": f"evt_{secrets.token_hex(8)}",
                "type": f"dispute.{outcome}",
                "dispute_id": f"dp_{authorization_id}",
                "charge_id": authorization_id,
                "reference": reference,
                "amount": str(amount),
                "evidence_due_by": evidence_due_by.isoformat() if evidence_due_by else None,
            }
        ).encode()
        signature = sandbox_signature(self._webhook_secret, body)
        return {"content-type": "application/json", SIGNATURE_HEADER: signature}, body

    def read_webhook(
        self, headers: Mapping[str, str], query: Mapping[str, str], body: bytes, now: datetime
    ) -> GatewayNotification:
        given = headers.get(SIGNATURE_HEADER, "")
        expected = sandbox_signature(self._webhook_secret, body)
        if not self._webhook_secret or not hmac.compare_digest(expected, given):
            raise InvalidWebhookError("X-Sandbox-Signature is missing or does not match")
        try:
            event = json.loads(body)
            kind = str(event["type"])
            if kind.startswith("dispute."):
                return self._dispute(event)
            return GatewayNotification(
                provider=self.provider,
                event_id=str(event["id"]),
                status={"charge.paid": "paid", "charge.expired": "expired"}.get(kind, "other"),
                charge_id=str(event.get("charge_id", "")),
                reference=str(event.get("reference", "")),
                amount=Money(Decimal(str(event["amount"]))),
            )
        except UNREADABLE:
            raise MalformedWebhookError("unreadable sandbox event") from None

    def _dispute(self, event: dict[str, Any]) -> GatewayNotification:
        amount = Money(Decimal(str(event["amount"])))
        due = event.get("evidence_due_by")
        return GatewayNotification(
            provider=self.provider,
            event_id=str(event["id"]),
            status="dispute",
            charge_id=str(event["charge_id"]),
            reference=str(event.get("reference", "")),
            amount=amount,
            dispute=DisputeNote(
                str(event["dispute_id"]),
                str(event["type"]).removeprefix("dispute."),
                amount,
                "sandbox",
                datetime.fromisoformat(due) if due else None,
            ),
        )

    def ledger(self) -> list[dict[str, Any]]:
        """Every operation that moved money, once each (what a reconciliation report shows)."""
        rows: list[bytes] = self._redis.lrange(f"sandbox:{self.name}:ledger", 0, -1)  # type: ignore[assignment]
        return [json.loads(r) for r in rows]


def sandbox_chain(
    client: redis.Redis, webhook_secret: str = "", pix_key: str = ""
) -> list[SandboxGateway]:
    return [SandboxGateway(name, client, webhook_secret, pix_key) for name in GATEWAY_NAMES]
