"""A local Stripe, after Stripe's API reference (stripe.com/docs/api):

- `POST /v1/payment_methods` (form: type=card, card[number|exp_month|exp_year|cvc]) ->
  `{id: "pm_…", object: "payment_method", type: "card", card: {brand, last4}}`: what Stripe.js
  does in the shopper's browser with the PUBLISHABLE key (`stripe_js_card`); our server
  only reads it back, `GET /v1/payment_methods/{id}` (docs.stripe.com/api/payment_methods/
  retrieve). ConfirmationTokens: `POST /v1/test_helpers/confirmation_tokens` (test mode's
  way to make one) and `GET /v1/confirmation_tokens/{id}` -> `{id: "ctoken_…",
  payment_intent, payment_method_preview: {type, card}}` (docs.stripe.com/api/
  confirmation_tokens); a used one names its `payment_intent`.
- 3-D Secure (docs.stripe.com/payments/3d-secure, test card 4000002500003155): the intent
  answers `status: "requires_action"`, `client_secret`, `next_action {type:
  "use_stripe_sdk"}`; `authenticate(pi, ok)` plays the shopper (-> `requires_capture`, or
  `requires_payment_method` with `last_payment_error.code =
  "payment_intent_authentication_failure"`); `GET /v1/payment_intents/{id}` reads it.
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

import httpx

from tests.fakes.base import TEST_CARDS, FakeProvider, Request


class FakeStripe(FakeProvider):
    key_header = "idempotency-key"
    form_encoded = True

    def __init__(self, api_key: str = "sk_test_fake", webhook_secret: str = "whsec_fake"):
        super().__init__()
        self.api_key, self.webhook_secret = api_key, webhook_secret
        self.cards: dict[str, dict[str, str]] = {}
        self.intents: dict[str, dict[str, Any]] = {}
        self.publishable_key = "pk_test_fake"
        self.confirmation_tokens: dict[str, dict[str, Any]] = {}
        self.route("POST", "/v1/payment_methods", self.payment_method)
        self.route("GET", r"/v1/payment_methods/(?P<id>[^/]+)", self.read_payment_method)
        self.route("POST", "/v1/test_helpers/confirmation_tokens", self.create_ctoken)
        self.route("GET", r"/v1/confirmation_tokens/(?P<id>[^/]+)", self.read_ctoken)
        self.route("GET", r"/v1/payment_intents/(?P<id>[^/]+)", self.read_intent)
        self.route("GET", "/v1/balance_transactions", self.balance_transactions)
        self.extra_balance: list[dict[str, Any]] = []  # lines a test adds (unknown ones...)
        self.hidden_balance: set[str] = set()  # intents whose lines a test leaves out
        self.route("POST", "/v1/payment_intents", self.create_intent)
        self.route("POST", r"/v1/payment_intents/(?P<id>[^/]+)/capture", self.capture)
        self.route("POST", r"/v1/payment_intents/(?P<id>[^/]+)/cancel", self.cancel)
        self.route("POST", "/v1/refunds", self.refund)

    def _dispatch(self, request: Request) -> tuple[int, bytes]:
        keys = {f"Bearer {self.api_key}"}
        if request.method == "POST" and request.path == "/v1/payment_methods":
            keys = {f"Bearer {self.publishable_key}"}  # Stripe.js, in the browser
        if request.headers.get("authorization") not in keys:
            return 401, b'{"error": {"type": "invalid_request_error", "code": "api_key"}}'
        return super()._dispatch(request)

    def stripe_js_card(self, number: str, exp: str = "12/30", cvc: str = "123") -> str:
        """What Stripe.js `createPaymentMethod` does in the shopper's browser: the card goes
        to Stripe with the publishable key, the page gets back only the `pm_…` id."""
        month, year = exp.split("/")
        form = {
            "type": "card",
            "card[number]": number,
            "card[exp_month]": month,
            "card[exp_year]": f"20{year}",
            "card[cvc]": cvc,
        }
        answer = httpx.post(
            f"{self.url}/v1/payment_methods",
            data=form,
            headers={"Authorization": f"Bearer {self.publishable_key}"},
            timeout=5,
        )
        return str(answer.json()["id"])

    def _missing(self) -> tuple[int, dict[str, Any]]:
        return 404, {"error": {"type": "invalid_request_error", "code": "resource_missing"}}

    def _pm(self, pm: str) -> dict[str, Any]:
        card = self.cards[pm]
        return {
            "id": pm,
            "object": "payment_method",
            "type": "card",
            "card": {"brand": card["brand"], "last4": card["last4"]},
        }

    def read_payment_method(self, r: Request) -> tuple[int, dict[str, Any]]:
        pm = r.match["id"] if r.match else ""
        return (200, self._pm(pm)) if pm in self.cards else self._missing()

    def create_ctoken(self, r: Request) -> tuple[int, dict[str, Any]]:
        pm = r.params.get("payment_method", "")
        if pm not in self.cards:
            return self._missing()
        ctoken = f"ctoken_{secrets.token_hex(8)}"
        self.confirmation_tokens[ctoken] = {"pm": pm, "payment_intent": None}
        return 200, self._ctoken(ctoken)

    def _ctoken(self, ctoken: str) -> dict[str, Any]:
        token = self.confirmation_tokens[ctoken]
        return {
            "id": ctoken,
            "object": "confirmation_token",
            "payment_intent": token["payment_intent"],
            "payment_method_preview": self._pm(token["pm"]),
        }

    def read_ctoken(self, r: Request) -> tuple[int, dict[str, Any]]:
        ctoken = r.match["id"] if r.match else ""
        return (
            (200, self._ctoken(ctoken)) if ctoken in self.confirmation_tokens else self._missing()
        )

    def read_intent(self, r: Request) -> tuple[int, dict[str, Any]]:
        intent = self.intents.get(r.match["id"] if r.match else "")
        return (200, intent) if intent is not None else self._missing()

    def balance_transactions(self, r: Request) -> tuple[int, dict[str, Any]]:
        """`GET /v1/balance_transactions` (docs.stripe.com/api/balance_transactions): one per
        capture (fee 3.99 % + R$ 0,39, Stripe Brazil's card price), refund and lost dispute,
        negative when money leaves; `expand[]=data.source` names the payment intent."""
        gte, lt = int(r.query["created[gte]"]), int(r.query["created[lt]"])
        rows = [*self._balance_rows(), *self.extra_balance]
        rows = [row for row in rows if gte <= row["created"] < lt]
        after = r.query.get("starting_after")
        if after:
            rows = rows[[row["id"] for row in rows].index(after) + 1 :]
        page = rows[: int(r.query.get("limit", 10))]
        return 200, {"object": "list", "data": page, "has_more": len(rows) > len(page)}

    def _balance_rows(self) -> list[dict[str, Any]]:
        categories = {"capture": "charge", "refund": "refund", "dispute_lost": "dispute"}
        rows = []
        for n, row in enumerate(self.ledger):
            if row["op"] not in categories or row["id"] in self.hidden_balance:
                continue
            amount = int(row["amount"])
            charge = row["op"] == "capture"
            fee = round(amount * 0.0399) + 39 if charge else 0
            rows.append(
                {
                    "id": f"txn_{n:06d}",
                    "object": "balance_transaction",
                    "amount": amount if charge else -amount,
                    "fee": fee,
                    "net": (amount if charge else -amount) - fee,
                    "currency": "brl",
                    "created": row.get("at", int(time.time())),
                    "reporting_category": categories[row["op"]],
                    "source": {"id": f"ch_{row['id'][3:]}", "payment_intent": row["id"]},
                }
            )
        return rows

    def authenticate(self, pi: str, ok: bool = True) -> dict[str, Any]:
        """The shopper's 3-D Secure in Stripe.js: passed, or failed."""
        intent = self.intents[pi]
        assert intent["status"] == "requires_action", intent["status"]
        intent.pop("next_action", None)
        if ok:
            intent["status"] = "requires_capture"
            self.ledger.append({"op": "authorize", "id": pi, "amount": intent["amount"]})
        else:
            intent["status"] = "requires_payment_method"
            intent["last_payment_error"] = {"code": "payment_intent_authentication_failure"}
        return intent

    def payment_method(self, r: Request) -> tuple[int, dict[str, Any]]:
        number = r.params["card[number]"]
        pm = f"pm_{secrets.token_hex(8)}"
        behaviour = TEST_CARDS.get(number, "approved")
        if number == "4000002500003155":
            behaviour = "authentication_required"
        self.cards[pm] = {"behaviour": behaviour, "last4": number[-4:], "brand": "visa"}
        return 200, self._pm(pm)

    def create_intent(self, r: Request) -> tuple[int, dict[str, Any]]:
        pm = r.params.get("payment_method", "")
        ctoken = self.confirmation_tokens.get(r.params.get("confirmation_token", ""))
        if ctoken is not None:
            if ctoken["payment_intent"] is not None:
                return 400, {"error": {"type": "invalid_request_error", "code": "token_used"}}
            pm = ctoken["pm"]
        card = self.cards.get(pm)
        if card is None:
            return 400, {"error": {"type": "invalid_request_error", "code": "resource_missing"}}
        pi = f"pi_{secrets.token_hex(8)}"
        if ctoken is not None:
            ctoken["payment_intent"] = pi
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
        self.intents[pi] = intent
        intent["client_secret"] = f"{pi}_secret_{secrets.token_hex(6)}"
        if behaviour == "authentication_required":
            intent["status"] = "requires_action"
            intent["next_action"] = {"type": "use_stripe_sdk", "use_stripe_sdk": {}}
            return 200, intent
        intent["status"] = "requires_capture"
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
        self.ledger.append(
            {"op": "capture", "id": intent["id"], "amount": amount, "at": int(time.time())}
        )
        return 200, intent

    def cancel(self, r: Request) -> tuple[int, dict[str, Any]]:
        intent = self.intents.get(r.match["id"]) if r.match else None
        cancelable = ("requires_capture", "requires_action", "requires_payment_method")
        if intent is None or intent["status"] not in cancelable:
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
        self.ledger.append(
            {"op": "refund", "id": intent["id"], "amount": amount, "at": int(time.time())}
        )
        return 200, {
            "id": f"re_{secrets.token_hex(8)}",
            "object": "refund",
            "status": "succeeded",
            "amount": amount,
        }

    def dispute(
        self,
        pi: str,
        event_type: str = "charge.dispute.created",
        status: str = "needs_response",
        *,
        dispute_id: str = "dp_fake1",
        amount: int | None = None,
        due_by: int | None = None,
    ) -> tuple[dict[str, str], bytes]:
        """A signed dispute event (docs.stripe.com/api/disputes/object, events
        `charge.dispute.created|updated|closed`); a lost one takes the money back."""
        intent = self.intents[pi]
        dispute = {
            "id": dispute_id,
            "object": "dispute",
            "amount": intent.get("amount_received", intent["amount"]) if amount is None else amount,
            "currency": "brl",
            "charge": f"ch_{pi[3:]}",
            "payment_intent": pi,
            "reason": "fraudulent",
            "status": status,
            "evidence_details": {"due_by": due_by or int(time.time()) + 7 * 86400},
        }
        if status == "lost":
            self.ledger.append(
                {
                    "op": "dispute_lost",
                    "id": pi,
                    "amount": dispute["amount"],
                    "at": int(time.time()),
                }
            )
        return self.webhook(event_type, dispute)

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
