"""Mercado Pago: the Payments API (cards, Pix, boleto) and its signed webhooks.

Follows Mercado Pago's developer docs (Checkout API / Payments): `POST /v1/card_tokens`
(card_number, expiration_month/year, security_code, cardholder.name) returns the card token;
`POST /v1/payments` with `X-Idempotency-Key` and `Authorization: Bearer <access token>`:
for a card `token`, `payment_method_id`, `installments`, `capture: false` (status
`authorized`, or `rejected` with `status_detail` such as `cc_rejected_insufficient_amount`);
for Pix `payment_method_id: "pix"` and `date_of_expiration` (status `pending`, the copy-and-
paste code in `point_of_interaction.transaction_data.qr_code`); for boleto
`payment_method_id: "bolbradesco"` with `payer.identification` {type CPF, number}
(`transaction_details.digitable_line`). Capture: `PUT /v1/payments/{id}` `{capture: true,
transaction_amount}`; void: `PUT /v1/payments/{id}` `{status: "cancelled"}`; refund:
`POST /v1/payments/{id}/refunds` `{amount}`. Webhooks: `x-signature: ts=<unix>,v1=<hex>`
where v1 is the HMAC-SHA256, with the application's secret, of the manifest
`id:<data.id>;request-id:<x-request-id>;ts:<ts>;` (`data.id` from the query string); the
notification names the payment only, so its state is read back with `GET /v1/payments/{id}`.
"""

from __future__ import annotations

import hashlib
import hmac
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
    InvalidWebhookError,
    MalformedWebhookError,
    Payer,
)
from domain.money import Money
from infrastructure.gateways.http import JsonApi, field
from infrastructure.payments import card_brand

TOLERANCE_S = 300
METHOD_IDS = {"visa": "visa", "mastercard": "master", "amex": "amex", "elo": "elo"}
STATUSES = {
    "approved": "paid",
    "cancelled": "expired",
    "expired": "expired",
    "rejected": "failed",
    "refunded": "refunded",
}


def mercadopago_manifest(data_id: str, request_id: str, ts: str) -> str:
    return f"id:{data_id.lower()};request-id:{request_id};ts:{ts};"


def mercadopago_signature(secret: str, data_id: str, request_id: str, ts: int) -> str:
    manifest = mercadopago_manifest(data_id, request_id, str(ts))
    digest = hmac.new(secret.encode(), manifest.encode(), hashlib.sha256).hexdigest()
    return f"ts={ts},v1={digest}"


class MercadoPagoGateway:
    provider = "mercadopago"
    methods = frozenset({"card", "pix", "boleto"})

    def __init__(
        self,
        access_token: str,
        webhook_secret: str,
        api_base: str,
        timeout_s: float,
        name: str = "mercadopago",
    ):
        self.name = name
        self._webhook_secret = webhook_secret
        self._api = JsonApi(name, api_base, {"Authorization": f"Bearer {access_token}"}, timeout_s)

    def _send(self, method: str, path: str, body: dict[str, Any], key: str) -> dict[str, Any]:
        status, answer = self._api.call(
            method, path, json_body=body, headers={"X-Idempotency-Key": key}
        )
        if status >= 400:
            raise GatewayError(f"{self.name}: {answer.get('message') or status}")
        return answer

    def tokenize(self, number: str, expiry: str, cvc: str, holder: str) -> CardToken:
        month, year = expiry.split("/")
        body = {
            "card_number": number,
            "expiration_month": int(month),
            "expiration_year": 2000 + int(year),
            "security_code": cvc,
            "cardholder": {"name": holder},
        }
        status, answer = self._api.call("POST", "/v1/card_tokens", json_body=body)
        if status >= 400:
            raise GatewayError(f"{self.name}: {answer.get('message') or status}")
        brand = card_brand(number)
        # The payment needs the card's payment_method_id beside the token: both travel as one.
        token = f"{METHOD_IDS.get(brand, brand)}:{field(answer, 'id')}"
        return CardToken(token, brand, str(field(answer, "last_four_digits")))

    def authorize(
        self, token: str, amount: Money, key: str, installments: int = 1
    ) -> Authorization:
        method_id, _, card_token = token.partition(":")
        answer = self._send(
            "POST",
            "/v1/payments",
            {
                "transaction_amount": amount.amount,
                "token": card_token,
                "payment_method_id": method_id,
                "installments": installments,
                "capture": False,
                "external_reference": key,
                "payer": {"email": f"pagador-{key[:8]}@clientes.ecovarejo.com.br"},
            },
            f"authorize:{key}",
        )
        status = field(answer, "status")
        if status == "authorized":
            return Authorization(True, str(field(answer, "id")))
        return Authorization(False, decline_reason=str(answer.get("status_detail") or status))

    def capture(self, authorization_id: str, amount: Money, key: str) -> None:
        body = {"capture": True, "transaction_amount": amount.amount}
        answer = self._send("PUT", f"/v1/payments/{authorization_id}", body, key)
        if field(answer, "status") != "approved":
            raise GatewayError(f"{self.name}: capture left the payment {answer['status']}")

    def void(self, authorization_id: str, key: str) -> None:
        self._send("PUT", f"/v1/payments/{authorization_id}", {"status": "cancelled"}, key)

    def refund(self, authorization_id: str, amount: Money, key: str) -> None:
        self._send(
            "POST", f"/v1/payments/{authorization_id}/refunds", {"amount": amount.amount}, key
        )

    def issue(
        self, method: str, amount: Money, key: str, payer: Payer, expires_at: datetime
    ) -> Charge:
        body: dict[str, Any] = {
            "transaction_amount": amount.amount,
            "description": f"Pedido EcoVarejo {key[:8]}",
            "external_reference": key,
            "date_of_expiration": expires_at.isoformat(timespec="milliseconds"),
            "payer": {"email": f"pagador-{key[:8]}@clientes.ecovarejo.com.br"},
        }
        if method == "pix":
            body["payment_method_id"] = "pix"
        elif method == "boleto":
            body["payment_method_id"] = "bolbradesco"
            body["payer"]["identification"] = {"type": "CPF", "number": payer.cpf}
        else:
            raise GatewayError(f"{self.name}: cannot issue {method}")
        answer = self._send("POST", "/v1/payments", body, f"issue:{key}")
        charge_id = str(field(answer, "id"))
        if method == "pix":
            code = field(answer, "point_of_interaction", "transaction_data", "qr_code")
            return Charge(charge_id, expires_at, pix_copy_paste=str(code))
        line = field(answer, "transaction_details", "digitable_line")
        return Charge(charge_id, expires_at, boleto_line=str(line))

    def read_webhook(
        self, headers: Mapping[str, str], query: Mapping[str, str], body: bytes, now: datetime
    ) -> GatewayNotification:
        data_id = query.get("data.id", "")
        request_id = headers.get("x-request-id", "")
        parts = dict(
            p.strip().partition("=")[::2] for p in headers.get("x-signature", "").split(",")
        )
        ts, given = parts.get("ts", ""), parts.get("v1", "")
        if not (data_id and request_id and ts.isdigit() and given):
            raise InvalidWebhookError("x-signature, x-request-id or data.id is missing")
        expected = mercadopago_signature(self._webhook_secret, data_id, request_id, int(ts))
        if not hmac.compare_digest(expected.split("v1=")[1], given):
            raise InvalidWebhookError("signature does not match")
        if abs(now.timestamp() - int(ts)) > TOLERANCE_S:
            raise InvalidWebhookError("signature timestamp is outside the tolerance")
        try:
            notification = json.loads(body)
            event_id = str(notification.get("id") or request_id)
        except UNREADABLE:
            raise MalformedWebhookError("unreadable Mercado Pago notification") from None
        status, payment = self._api.call("GET", f"/v1/payments/{data_id}")
        if status == 404:
            return GatewayNotification(self.provider, event_id, "other", charge_id=data_id)
        if status >= 400:
            raise GatewayError(f"{self.name}: could not read payment {data_id}", retryable=True)
        try:
            return GatewayNotification(
                provider=self.provider,
                event_id=event_id,
                status=STATUSES.get(str(payment.get("status")), "other"),
                charge_id=data_id,
                reference=str(payment.get("external_reference") or ""),
                settlement=data_id,  # each change of the payment is notified: one payment
                amount=Money(
                    Decimal(str(field(payment, "transaction_amount"))).quantize(Decimal("0.01"))
                ),
            )
        except UNREADABLE as error:  # a payment that says nothing we can use: not retryable
            raise MalformedWebhookError(
                f"unreadable Mercado Pago payment {data_id}: {type(error).__name__}"
            ) from None
