"""Stripe: PaymentIntents with manual capture, idempotency keys, signed webhooks.

Follows Stripe's API reference: `POST /v1/payment_methods` (type=card) to tokenize;
`POST /v1/payment_intents` with `confirm=true`, `capture_method=manual` (status
`requires_capture` when authorized; a decline is HTTP 402 with `error.type=card_error`,
`error.code`/`decline_code`; `processing_error` is the acquirer failing, not a decline);
Brazilian installments in `payment_method_options[card][installments][plan]`
(`type=fixed_count`, `interval=month`, `count`); `POST /v1/payment_intents/{id}/capture`
(`amount_to_capture`), `POST /v1/payment_intents/{id}/cancel`, `POST /v1/refunds`
(`payment_intent`, `amount`). Requests are form-encoded with `Authorization: Bearer <key>`;
every POST carries `Idempotency-Key`. Webhooks carry `Stripe-Signature: t=<unix>,v1=<hex>`,
the HMAC-SHA256 of `"{t}.{raw body}"` with the endpoint's signing secret; a timestamp more
than 5 minutes off is refused (Stripe's default tolerance).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any

from application.ports import (
    UNREADABLE,
    Authorization,
    CardToken,
    Charge,
    GatewayError,
    GatewayNotification,
    MalformedWebhookError,
    Payer,
)
from domain.money import Money
from infrastructure.gateways.http import JsonApi, cents, field
from infrastructure.webhook_signing import timestamped_signature, verify_timestamped_signature

STATUSES = {
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
    ):
        self.name = name
        self._webhook_secret = webhook_secret
        self._api = JsonApi(name, api_base, {"Authorization": f"Bearer {api_key}"}, timeout_s)

    def _post(self, path: str, form: dict[str, str], key: str) -> tuple[int, dict[str, Any]]:
        return self._api.call("POST", path, form=form, headers={"Idempotency-Key": key})

    def _checked(self, status: int, answer: dict[str, Any]) -> dict[str, Any]:
        if status >= 400:
            error = answer.get("error") or {}
            raise GatewayError(f"{self.name}: {error.get('code') or error.get('type') or status}")
        return answer

    def tokenize(self, number: str, expiry: str, cvc: str, holder: str) -> CardToken:
        month, year = expiry.split("/")
        form = {
            "type": "card",
            "card[number]": number,
            "card[exp_month]": str(int(month)),
            "card[exp_year]": f"20{year}",
            "card[cvc]": cvc,
            "billing_details[name]": holder,
        }
        answer = self._checked(*self._api.call("POST", "/v1/payment_methods", form=form))
        return CardToken(
            str(field(answer, "id")),
            str(field(answer, "card", "brand")),
            str(field(answer, "card", "last4")),
        )

    def authorize(
        self, token: str, amount: Money, key: str, installments: int = 1
    ) -> Authorization:
        form = {
            "amount": str(cents(amount.amount)),
            "currency": "brl",
            "payment_method": token,
            "payment_method_types[]": "card",
            "confirm": "true",
            "capture_method": "manual",
            "metadata[payment_id]": key,
        }
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
        answer = self._checked(status, answer)
        if field(answer, "status") != "requires_capture":
            return Authorization(False, decline_reason=str(answer["status"]))
        return Authorization(True, str(field(answer, "id")))

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

    def read_webhook(
        self, headers: Mapping[str, str], query: Mapping[str, str], body: bytes, now: datetime
    ) -> GatewayNotification:
        verify_timestamped_signature(
            self._webhook_secret, headers.get("stripe-signature", ""), body, now
        )
        try:
            event = json.loads(body)
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
