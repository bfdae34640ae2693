"""Mercado Pago: the Payments API (cards, Pix, boleto) and its signed webhooks.

Follows Mercado Pago's developer docs (Checkout API / Payments). The card token is made in
the shopper's browser by MercadoPago.js with the public key (`POST /v1/card_tokens`, single
use, 7 days); the server reads it back with `GET /v1/card_tokens/{id}` (the SDKs' CardToken
`get`) and never sees the card number. With `three_d_secure_mode: optional` a card needing
3-D Secure answers `pending` / `pending_challenge` with `three_ds_info` (developer docs
"3DS 2.0"); its outcome is `GET /v1/payments/{id}` or the payment webhook.
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
import re
from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any

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
from domain.money import Money
from infrastructure.gateways.payments.http import JsonApi, field
from infrastructure.gateways.payments.sandbox import card_brand

TOLERANCE_S = 300
TOKEN = re.compile(r"[0-9a-f]{32}")
CHARGEBACK_TOPICS = ("chargebacks", "topic_chargebacks_wh")
CHARGEBACK_OUTCOMES = {"settled": "lost", "reimbursed": "won"}  # of a charged_back payment
METHOD_IDS = {"visa": "visa", "mastercard": "master", "amex": "amex", "elo": "elo"}
STATUSES = {
    "authorized": "authorized",
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
        public_key: str = "",
    ):
        self.name = name
        self._public_key = public_key
        self._webhook_secret = webhook_secret
        self._api = JsonApi(name, api_base, {"Authorization": f"Bearer {access_token}"}, timeout_s)

    def _send(self, method: str, path: str, body: dict[str, Any], key: str) -> dict[str, Any]:
        status, answer = self._api.call(
            method, path, json_body=body, headers={"X-Idempotency-Key": key}
        )
        if status >= 400:
            raise GatewayError(f"{self.name}: {answer.get('message') or status}")
        return answer

    def public_config(self) -> dict[str, str]:
        return {"public_key": self._public_key, "sdk": "https://sdk.mercadopago.com/js/v2"}

    def accept_token(self, token: str) -> CardToken:
        """A card token made by MercadoPago.js (`mp.fields.createCardToken`, with the public
        key), read back with `GET /v1/card_tokens/{id}`: single use, so only an `active`
        one. Its BIN names the payment method (`visa`, `master`...), which the payment needs
        beside the token: both travel as one, `method:token`."""
        if TOKEN.fullmatch(token) is None:
            raise UnusableCardTokenError("not a Mercado Pago card token")
        status, answer = self._api.call("GET", f"/v1/card_tokens/{token}")
        if status in (400, 404):
            raise UnusableCardTokenError("Mercado Pago does not know this card token")
        if status >= 400:
            raise GatewayError(f"{self.name}: card token not read ({status})", retryable=True)
        if answer.get("status") != "active":
            raise UnusableCardTokenError("this Mercado Pago card token was used or expired")
        brand = card_brand(str(field(answer, "first_six_digits")))
        last4 = str(field(answer, "last_four_digits"))
        return CardToken(f"{METHOD_IDS.get(brand, brand)}:{token}", brand, last4)

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
                "three_d_secure_mode": "optional",
                "external_reference": key,
                "payer": {"email": f"pagador-{key[:8]}@clientes.ecovarejo.com.br"},
            },
            f"authorize:{key}",
        )
        return self._decided(answer)

    def _decided(self, payment: dict[str, Any]) -> Authorization:
        """`authorized`; `pending` + `pending_challenge` is 3-D Secure: the front end shows
        `three_ds_info.external_resource_url` (with `creq`) in an iframe; else a decline."""
        status, payment_id = field(payment, "status"), str(field(payment, "id"))
        if status == "authorized":
            return Authorization(True, payment_id)
        if payment.get("status_detail") == "pending_challenge":
            info = payment.get("three_ds_info") or {}
            action = CustomerAction(
                str(info.get("creq") or ""), str(info.get("external_resource_url") or "")
            )
            return Authorization(False, payment_id, action=action)
        reason = payment.get("status_detail") or status
        return Authorization(False, payment_id, decline_reason=str(reason))

    def authentication_result(self, authorization_id: str) -> Authorization:
        """Where the shopper's challenge left the payment (`GET /v1/payments/{id}`)."""
        status, answer = self._api.call("GET", f"/v1/payments/{authorization_id}")
        if status >= 400:
            raise GatewayError(f"{self.name}: payment not read ({status})", retryable=True)
        return self._decided(answer)

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

    def _chargeback(self, event_id: str, chargeback_id: str) -> GatewayNotification:
        """A chargeback notification names the case only: `GET /v1/chargebacks/{id}`
        (`payments`, `amount`, `date_documentation_deadline`), then the payment for our
        reference and its outcome: `charged_back` / `settled` lost, `reimbursed` won
        (developer docs "Chargebacks", reference "Get chargeback")."""
        status, case = self._api.call("GET", f"/v1/chargebacks/{chargeback_id}")
        if status == 404:
            return GatewayNotification(self.provider, event_id, "other", charge_id=chargeback_id)
        if status >= 400:
            raise GatewayError(f"{self.name}: chargeback {chargeback_id} not read", retryable=True)
        try:
            payment_id = str(case["payments"][0])
            amount = Money(Decimal(str(case["amount"])).quantize(Decimal("0.01")))
            deadline = case.get("date_documentation_deadline")
            due = datetime.fromisoformat(str(deadline)) if deadline else None
        except UNREADABLE as error:
            raise MalformedWebhookError(
                f"unreadable Mercado Pago chargeback: {type(error).__name__}"
            ) from None
        status, payment = self._api.call("GET", f"/v1/payments/{payment_id}")
        if status >= 400:
            raise GatewayError(f"{self.name}: payment {payment_id} not read", retryable=True)
        outcome = CHARGEBACK_OUTCOMES.get(str(payment.get("status_detail")), "opened")
        return GatewayNotification(
            provider=self.provider,
            event_id=event_id,
            status="dispute",
            charge_id=payment_id,
            reference=str(payment.get("external_reference") or ""),
            amount=amount,
            dispute=DisputeNote(str(case.get("id") or chargeback_id), outcome, amount, "", due),
        )

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
            kind = str(query.get("type") or notification.get("type") or "")
        except UNREADABLE:
            raise MalformedWebhookError("unreadable Mercado Pago notification") from None
        if kind in CHARGEBACK_TOPICS:
            return self._chargeback(event_id, data_id)
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
