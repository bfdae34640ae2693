"""A local Stripe, after Stripe's API reference (stripe.com/docs/api):

- `POST /v1/payment_methods` (form: type=card, card[number|exp_month|exp_year|cvc]) ->
  `{id: "pm_…", object: "payment_method", card: {brand, last4}}`
- `POST /v1/payment_intents` (amount in centavos, currency, payment_method, confirm=true,
  capture_method=manual, metadata[…], payment_method_options[card][installments][plan][…])
  -> `{id: "pi_…", status: "requires_capture", amount, …}`; a decline is HTTP 402
  `{error: {type: "card_error", code: "card_declined", decline_code, payment_intent}}`;
  Stripe's test card 4000000000000119 answers `code: "processing_error"`.
- `POST /v1/payment_intents/{id}/capture` (amount_to_capture) -> status `succeeded`;
  `POST /v1/payment_intents/{id}/cancel` -> status `canceled`;
  `POST /v1/refunds` (payment_intent, amount) -> `{id: "re_…", status: "succeeded"}`.
- Idempotency (docs "Idempotent requests"): the same `Idempotency-Key` replays the first
  answer; reused with other parameters it is a 400 `idempotency_error`.
- Webhooks (docs "Check the webhook signatures"): `Stripe-Signature: t=<unix>,v1=<hex
  HMAC-SHA256 of "t.payload">`.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import time
from typing import Any

from tests.fakes.base import TEST_CARDS, FakeProvider, Request


class FakeStripe(FakeProvider):
    key_header = "idempotency-key"
    form_encoded = True

    def __init__(self, api_key: str = "sk_test_fake", webhook_secret: str = "whsec_fake"):
        super().__init__()
        self.api_key, self.webhook_secret = api_key, webhook_secret
        self.cards: dict[str, dict[str, str]] = {}
        self.intents: dict[str, dict[str, Any]] = {}
        self.route("POST", "/v1/payment_methods", self.payment_method)
        self.route("POST", "/v1/payment_intents", self.create_intent)
        self.route("POST", r"/v1/payment_intents/(?P<id>[^/]+)/capture", self.capture)
        self.route("POST", r"/v1/payment_intents/(?P<id>[^/]+)/cancel", self.cancel)
        self.route("POST", "/v1/refunds", self.refund)

    def _dispatch(self, request: Request) -> tuple[int, bytes]:
        if request.headers.get("authorization") != f"Bearer {self.api_key}":
            return 401, b'{"error": {"type": "invalid_request_error", "code": "api_key"}}'
        return super()._dispatch(request)

    def payment_method(self, r: Request) -> tuple[int, dict[str, Any]]:
        number = r.params["card[number]"]
        pm = f"pm_{secrets.token_hex(8)}"
        self.cards[pm] = {"behaviour": TEST_CARDS.get(number, "approved"), "last4": number[-4:]}
        return 200, {
            "id": pm,
            "object": "payment_method",
            "card": {"brand": "visa", "last4": number[-4:]},
        }

    def create_intent(self, r: Request) -> tuple[int, dict[str, Any]]:
        card = self.cards.get(r.params.get("payment_method", ""))
        if card is None:
            return 400, {"error": {"type": "invalid_request_error", "code": "resource_missing"}}
        pi = f"pi_{secrets.token_hex(8)}"
        intent = {
            "id": pi,
            "object": "payment_intent",
            "amount": int(r.params["amount"]),
            "currency": r.params["currency"],
            "metadata": {"payment_id": r.params.get("metadata[payment_id]", "")},
            "installments": r.params.get("payment_method_options[card][installments][plan][count]"),
        }
        behaviour = card["behaviour"]
        if behaviour == "processing_error":
            return 402, {
                "error": {
                    "type": "card_error",
                    "code": "processing_error",
                    "payment_intent": intent,
                }
            }
        if behaviour in ("declined", "insufficient_funds"):
            decline = "generic_decline" if behaviour == "declined" else "insufficient_funds"
            intent["status"] = "requires_payment_method"
            return 402, {
                "error": {
                    "type": "card_error",
                    "code": "card_declined",
                    "decline_code": decline,
                    "payment_intent": intent,
                }
            }
        intent["status"] = "requires_capture"
        self.intents[pi] = intent
        self.ledger.append({"op": "authorize", "id": pi, "amount": intent["amount"]})
        return 200, intent

    def capture(self, r: Request) -> tuple[int, dict[str, Any]]:
        intent = self.intents.get(r.match["id"]) if r.match else None
        if intent is None or intent["status"] != "requires_capture":
            return 400, {
                "error": {
                    "type": "invalid_request_error",
                    "code": "payment_intent_unexpected_state",
                }
            }
        amount = int(r.params.get("amount_to_capture", intent["amount"]))
        intent |= {"status": "succeeded", "amount_received": amount}
        self.ledger.append({"op": "capture", "id": intent["id"], "amount": amount})
        return 200, intent

    def cancel(self, r: Request) -> tuple[int, dict[str, Any]]:
        intent = self.intents.get(r.match["id"]) if r.match else None
        if intent is None or intent["status"] != "requires_capture":
            return 400, {
                "error": {
                    "type": "invalid_request_error",
                    "code": "payment_intent_unexpected_state",
                }
            }
        intent["status"] = "canceled"
        self.ledger.append({"op": "void", "id": intent["id"]})
        return 200, intent

    def refund(self, r: Request) -> tuple[int, dict[str, Any]]:
        intent = self.intents.get(r.params.get("payment_intent", ""))
        if intent is None or intent["status"] != "succeeded":
            return 400, {
                "error": {"type": "invalid_request_error", "code": "charge_not_refundable"}
            }
        amount = int(r.params.get("amount", intent["amount_received"]))
        self.ledger.append({"op": "refund", "id": intent["id"], "amount": amount})
        return 200, {
            "id": f"re_{secrets.token_hex(8)}",
            "object": "refund",
            "status": "succeeded",
            "amount": amount,
        }

    def webhook(
        self,
        event_type: str,
        intent: dict[str, Any],
        *,
        at: int | None = None,
        secret: str | None = None,
    ) -> tuple[dict[str, str], bytes]:
        body = json.dumps(
            {
                "id": f"evt_{secrets.token_hex(8)}",
                "object": "event",
                "type": event_type,
                "data": {"object": intent},
            }
        ).encode()
        t = int(time.time()) if at is None else at
        mac = hmac.new(
            (secret or self.webhook_secret).encode(), f"{t}.".encode() + body, hashlib.sha256
        )
        return {"stripe-signature": f"t={t},v1={mac.hexdigest()}"}, body
