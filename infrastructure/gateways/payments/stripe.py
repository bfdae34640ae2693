"""Stripe: PaymentIntents with manual capture, idempotency keys, signed webhooks.

Follows Stripe's API reference. Cards are tokenized in the shopper's browser by Stripe.js
(a PaymentMethod `pm_…` or a ConfirmationToken `ctoken_…`, made with the publishable key);
the server only reads them back (`GET /v1/payment_methods/{id}`,
`GET /v1/confirmation_tokens/{id}`: docs.stripe.com/api/payment_methods/retrieve,
docs.stripe.com/api/confirmation_tokens/retrieve) and never sees a card number.
`POST /v1/payment_intents` with `confirm=true`, `capture_method=manual` (status
`requires_capture` when authorized; a decline is HTTP 402 with `error.type=card_error`,
`error.code`/`decline_code`; `processing_error` is the acquirer failing, not a decline);
Brazilian installments in `payment_method_options[card][installments][plan]`
(`type=fixed_count`, `interval=month`, `count`). A card that needs 3-D Secure leaves the
intent `requires_action` with `client_secret` and `next_action` (docs "3D Secure
authentication"); its outcome is `GET /v1/payment_intents/{id}` or the webhooks
`payment_intent.amount_capturable_updated` / `payment_intent.payment_failed`.
`POST /v1/payment_intents/{id}/capture`
(`amount_to_capture`), `POST /v1/payment_intents/{id}/cancel`, `POST /v1/refunds`
(`payment_intent`, `amount`). Requests are form-encoded with `Authorization: Bearer <key>`;
every POST carries `Idempotency-Key`. Webhooks carry `Stripe-Signature: t=<unix>,v1=<hex>`,
the HMAC-SHA256 of `"{t}.{raw body}"` with the endpoint's signing secret; a timestamp more
than 5 minutes off is refused (Stripe's default tolerance).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

from application.ports import (
    UNREADABLE,
    Authorization,
    CardToken,
    Charge,
    CustomerAction,
    DisputeNote,
    GatewayError,
    GatewayNotification,
    MalformedWebhookError,
    Payer,
    UnusableCardTokenError,
)
from domain.money import Money
from infrastructure.gateways.payments.http import JsonApi, cents, field
from infrastructure.gateways.webhook_signing import (
    timestamped_signature,
    verify_timestamped_signature,
)

DISPUTES = {
    "charge.dispute.created": "opened",
    "charge.dispute.updated": "evidence_due",
    "charge.dispute.closed": "closed",
}
TOKEN = re.compile(r"(pm|ctoken)_[A-Za-z0-9]{8,64}")
STATUSES = {
    "payment_intent.amount_capturable_updated": "authorized",
    "payment_intent.succeeded": "paid",
    "payment_intent.canceled": "expired",
    "payment_intent.payment_failed": "failed",
    "charge.refunded": "refunded",
}


def stripe_signature(secret: str, body: bytes, timestamp: int) -> str:
    return timestamped_signature(secret, body, timestamp)


class StripeGateway:
    provider = "stripe"
    methods = frozenset({"card"})

    def __init__(
        self,
        api_key: str,
        webhook_secret: str,
        api_base: str,
        timeout_s: float,
        name: str = "stripe",
        publishable_key: str = "",
        return_url: str = "https://ecovarejo.com.br/checkout/3ds",
    ):
        self.name = name
        self._publishable_key, self._return_url = publishable_key, return_url
        self._webhook_secret = webhook_secret
        self._api = JsonApi(name, api_base, {"Authorization": f"Bearer {api_key}"}, timeout_s)

    def _post(self, path: str, form: dict[str, str], key: str) -> tuple[int, dict[str, Any]]:
        return self._api.call("POST", path, form=form, headers={"Idempotency-Key": key})

    def _checked(self, status: int, answer: dict[str, Any]) -> dict[str, Any]:
        if status >= 400:
            error = answer.get("error") or {}
            raise GatewayError(f"{self.name}: {error.get('code') or error.get('type') or status}")
        return answer

    def public_config(self) -> dict[str, str]:
        return {"public_key": self._publishable_key, "sdk": "https://js.stripe.com/v3/"}

    def accept_token(self, token: str) -> CardToken:
        """A PaymentMethod (`pm_…`, Stripe.js `createPaymentMethod`) or a ConfirmationToken
        (`ctoken_…`, `createConfirmationToken`), read back with the secret key: only a card
        of this account, and a confirmation token not used yet."""
        if TOKEN.fullmatch(token) is None:
            raise UnusableCardTokenError("not a Stripe PaymentMethod or ConfirmationToken id")
        kind = "confirmation_tokens" if token.startswith("ctoken_") else "payment_methods"
        status, answer = self._api.call("GET", f"/v1/{kind}/{token}")
        if status in (400, 404):
            raise UnusableCardTokenError("Stripe does not know this card token")
        answer = self._checked(status, answer)
        if kind == "confirmation_tokens":
            if answer.get("payment_intent"):
                raise UnusableCardTokenError("this ConfirmationToken was used already")
            answer = field(answer, "payment_method_preview")
        if answer.get("type") != "card":
            raise UnusableCardTokenError("this Stripe payment method is not a card")
        return CardToken(
            token, str(field(answer, "card", "brand")), str(field(answer, "card", "last4"))
        )

    def authorize(
        self, token: str, amount: Money, key: str, installments: int = 1
    ) -> Authorization:
        form = {
            "amount": str(cents(amount.amount)),
            "currency": "brl",
            "payment_method_types[]": "card",
            "confirm": "true",
            "capture_method": "manual",
            "metadata[payment_id]": key,
            "return_url": self._return_url,
        }
        form["confirmation_token" if token.startswith("ctoken_") else "payment_method"] = token
        if installments > 1:
            plan = "payment_method_options[card][installments][plan]"
            form |= {
                "payment_method_options[card][installments][enabled]": "true",
                f"{plan}[type]": "fixed_count",
                f"{plan}[interval]": "month",
                f"{plan}[count]": str(installments),
            }
        status, answer = self._post("/v1/payment_intents", form, f"authorize:{key}")
        if status == 402:
            error = field(answer, "error")
            code = error.get("decline_code") or error.get("code") or "card_declined"
            if error.get("code") == "processing_error":
                raise GatewayError(f"{self.name}: processing error")
            return Authorization(False, decline_reason=str(code))
        return self._decided(self._checked(status, answer))

    def _decided(self, intent: dict[str, Any]) -> Authorization:
        """An intent's state as an answer: authorized (`requires_capture`), waiting for
        the shopper (`requires_action`: 3-D Secure, finished with Stripe.js
        `handleNextAction(client_secret)` or at `next_action.redirect_to_url.url`), or not."""
        status, intent_id = field(intent, "status"), str(field(intent, "id"))
        if status == "requires_capture":
            return Authorization(True, intent_id)
        if status == "requires_action":
            redirect = (intent.get("next_action") or {}).get("redirect_to_url") or {}
            action = CustomerAction(str(intent.get("client_secret") or ""), redirect.get("url", ""))
            return Authorization(False, intent_id, action=action)
        error = intent.get("last_payment_error") or {}
        reason = error.get("decline_code") or error.get("code") or status
        return Authorization(False, intent_id, decline_reason=str(reason))

    def authentication_result(self, authorization_id: str) -> Authorization:
        """Where the shopper's 3-D Secure left the intent (`GET /v1/payment_intents/{id}`)."""
        return self._decided(
            self._checked(*self._api.call("GET", f"/v1/payment_intents/{authorization_id}"))
        )

    def capture(self, authorization_id: str, amount: Money, key: str) -> None:
        form = {"amount_to_capture": str(cents(amount.amount))}
        answer = self._checked(
            *self._post(f"/v1/payment_intents/{authorization_id}/capture", form, key)
        )
        if field(answer, "status") != "succeeded":
            raise GatewayError(f"{self.name}: capture left the intent {answer['status']}")

    def void(self, authorization_id: str, key: str) -> None:
        self._checked(*self._post(f"/v1/payment_intents/{authorization_id}/cancel", {}, key))

    def refund(self, authorization_id: str, amount: Money, key: str) -> None:
        form = {"payment_intent": authorization_id, "amount": str(cents(amount.amount))}
        answer = self._checked(*self._post("/v1/refunds", form, key))
        if field(answer, "status") not in ("succeeded", "pending"):
            raise GatewayError(f"{self.name}: refund {answer['status']}")

    def issue(
        self, method: str, amount: Money, key: str, payer: Payer, expires_at: datetime
    ) -> Charge:
        raise GatewayError(f"{self.name}: {method} is not offered through Stripe here")

    def settlement_rows(self, start: datetime, end: datetime) -> list[dict[str, Any]]:
        """Balance transactions created in [start, end), their `source` expanded to name the
        payment intent (docs.stripe.com/api/balance_transactions/list), every page."""
        rows: list[dict[str, Any]] = []
        query = {
            "created[gte]": str(int(start.timestamp())),
            "created[lt]": str(int(end.timestamp())),
            "limit": "100",
            "expand[]": "data.source",
        }
        while True:
            path = f"/v1/balance_transactions?{urlencode(query)}"
            page = self._checked(*self._api.call("GET", path))
            found = [row for row in page.get("data") or [] if isinstance(row, dict)]
            rows += found
            if not page.get("has_more") or not found:
                return rows
            query["starting_after"] = str(found[-1]["id"])

    def _dispute(self, event: dict[str, Any]) -> GatewayNotification:
        """`charge.dispute.created|updated|closed` carry the Dispute (docs.stripe.com/api/
        disputes/object: `amount`, `payment_intent`, `reason`, `status`, `evidence_details.
        due_by`); it names no metadata of ours, so the intent's is read back."""
        dispute = event["data"]["object"]
        intent_id = str(dispute["payment_intent"])
        kind = DISPUTES.get(str(event["type"]), "other")
        if kind == "closed":
            kind = "lost" if dispute["status"] == "lost" else "won"
        due = (dispute.get("evidence_details") or {}).get("due_by")
        status, intent = self._api.call("GET", f"/v1/payment_intents/{intent_id}")
        if status >= 500:
            raise GatewayError(f"{self.name}: intent {intent_id} not read", retryable=True)
        metadata = (intent.get("metadata") or {}) if status < 400 else {}
        amount = Money(Decimal(int(dispute["amount"])) / 100)
        return GatewayNotification(
            provider=self.provider,
            event_id=str(event["id"]),
            status="dispute",
            charge_id=intent_id,
            reference=str(metadata.get("payment_id", "")),
            amount=amount,
            dispute=DisputeNote(
                dispute_id=str(dispute["id"]),
                status=kind,
                amount=amount,
                reason=str(dispute.get("reason") or ""),
                evidence_due_by=datetime.fromtimestamp(int(due), UTC) if due else None,
            ),
        )

    def read_webhook(
        self, headers: Mapping[str, str], query: Mapping[str, str], body: bytes, now: datetime
    ) -> GatewayNotification:
        verify_timestamped_signature(
            self._webhook_secret, headers.get("stripe-signature", ""), body, now
        )
        try:
            event = json.loads(body)
            if str(event["type"]).startswith("charge.dispute."):
                return self._dispute(event)
            intent = event["data"]["object"]
            amount = intent.get("amount_received") or intent.get("amount") or 0
            return GatewayNotification(
                provider=self.provider,
                event_id=str(event["id"]),
                status=STATUSES.get(str(event["type"]), "other"),
                charge_id=str(intent.get("payment_intent") or intent["id"]),
                reference=str((intent.get("metadata") or {}).get("payment_id", "")),
                amount=Money(Decimal(int(amount)) / 100),
            )
        except UNREADABLE as error:
            raise MalformedWebhookError(
                f"unreadable Stripe event: {type(error).__name__}"
            ) from None
