"""PagSeguro (PagBank): the Orders and Charges APIs and their signed notifications.

Follows PagBank's API reference (developer.pagbank.com.br): `Authorization: Bearer <token>`
and `x-idempotency-key` on every POST. Cards: `POST /tokens/cards` gives a card id (PagBank
tokenization; the reference sends the card encrypted with the key from `/public-keys`, the
card object's fields are those of the charge's `payment_method.card`); `POST /charges`
with `payment_method {type: CREDIT_CARD, installments, capture: false, card: {id}}` answers
the charge with `status` AUTHORIZED or DECLINED and `payment_response {code, message}`;
`POST /charges/{id}/capture` and `POST /charges/{id}/cancel` (`amount.value` in centavos;
cancel voids an authorized charge and refunds a paid one). Pix: `POST /orders` with
`qr_codes [{amount.value, expiration_date}]` answers `qr_codes[0].text` (the BR Code). Boleto:
`POST /orders` with a charge whose `payment_method {type: BOLETO, boleto {due_date, holder
{tax_id}}}` answers `payment_method.boleto.barcode` (the 47-digit line). Notifications are
POSTed to `notification_urls` with `x-authenticity-token: sha256("<token>-<raw payload>")`
("Confirmar autenticidade da notificação"); the payload is the charge (or the order with its
charges), with `reference_id`, `status` (PAID, DECLINED, CANCELED...) and `amount.value`.
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
from infrastructure.gateways.http import JsonApi, cents, field

STATUSES = {"PAID": "paid", "DECLINED": "failed", "CANCELED": "expired"}


def pagseguro_signature(token: str, body: bytes) -> str:
    return hashlib.sha256(token.encode() + b"-" + body).hexdigest()


class PagSeguroGateway:
    provider = "pagseguro"
    methods = frozenset({"card", "pix", "boleto"})

    def __init__(
        self,
        token: str,
        webhook_secret: str,
        api_base: str,
        timeout_s: float,
        name: str = "pagseguro",
    ):
        self.name = name
        # PagBank signs notifications with the account token itself; a separate secret may be
        # configured when notifications reach us through a relay that re-signs them.
        self._webhook_secret = webhook_secret or token
        self._api = JsonApi(name, api_base, {"Authorization": f"Bearer {token}"}, timeout_s)

    def _post(self, path: str, body: dict[str, Any], key: str) -> dict[str, Any]:
        status, answer = self._api.call(
            "POST", path, json_body=body, headers={"x-idempotency-key": key}
        )
        if status >= 400:
            messages = answer.get("error_messages") or [{}]
            raise GatewayError(f"{self.name}: {messages[0].get('code') or status}")
        return answer

    def tokenize(self, number: str, expiry: str, cvc: str, holder: str) -> CardToken:
        month, year = expiry.split("/")
        card = {
            "number": number,
            "exp_month": month,
            "exp_year": f"20{year}",
            "security_code": cvc,
            "holder": {"name": holder},
        }
        status, answer = self._api.call("POST", "/tokens/cards", json_body=card)
        if status >= 400:
            raise GatewayError(f"{self.name}: card not tokenized ({status})")
        return CardToken(
            str(field(answer, "id")),
            str(field(answer, "brand")).lower(),
            str(field(answer, "last_digits")),
        )

    def authorize(
        self, token: str, amount: Money, key: str, installments: int = 1
    ) -> Authorization:
        charge = self._post(
            "/charges",
            {
                "reference_id": key,
                "description": f"Pedido EcoVarejo {key[:8]}",
                "amount": {"value": cents(amount.amount), "currency": "BRL"},
                "payment_method": {
                    "type": "CREDIT_CARD",
                    "installments": installments,
                    "capture": False,
                    "card": {"id": token},
                },
            },
            f"authorize:{key}",
        )
        status = field(charge, "status")
        if status == "AUTHORIZED":
            return Authorization(True, str(field(charge, "id")))
        response = charge.get("payment_response") or {}
        return Authorization(False, decline_reason=str(response.get("message") or status).lower())

    def capture(self, authorization_id: str, amount: Money, key: str) -> None:
        body = {"amount": {"value": cents(amount.amount)}}
        charge = self._post(f"/charges/{authorization_id}/capture", body, key)
        if field(charge, "status") != "PAID":
            raise GatewayError(f"{self.name}: capture left the charge {charge['status']}")

    def _cancel(self, authorization_id: str, value: int | None, key: str) -> None:
        body = {"amount": {"value": value}} if value is not None else {}
        charge = self._post(f"/charges/{authorization_id}/cancel", body, key)
        if field(charge, "status") != "CANCELED":
            raise GatewayError(f"{self.name}: cancel left the charge {charge['status']}")

    def void(self, authorization_id: str, key: str) -> None:
        self._cancel(authorization_id, None, key)

    def refund(self, authorization_id: str, amount: Money, key: str) -> None:
        self._cancel(authorization_id, cents(amount.amount), key)

    def issue(
        self, method: str, amount: Money, key: str, payer: Payer, expires_at: datetime
    ) -> Charge:
        value = {"value": cents(amount.amount), "currency": "BRL"}
        order: dict[str, Any] = {"reference_id": key}
        if payer.cpf:
            order["customer"] = {
                "name": "Cliente EcoVarejo",
                "email": f"pagador-{key[:8]}@clientes.ecovarejo.com.br",
                "tax_id": payer.cpf,
            }
        if method == "pix":
            order["qr_codes"] = [
                {"amount": {"value": value["value"]}, "expiration_date": expires_at.isoformat()}
            ]
        elif method == "boleto":
            order["charges"] = [
                {
                    "reference_id": key,
                    "amount": value,
                    "payment_method": {
                        "type": "BOLETO",
                        "boleto": {
                            "due_date": expires_at.date().isoformat(),
                            "holder": {"name": "Cliente EcoVarejo", "tax_id": payer.cpf},
                        },
                    },
                }
            ]
        else:
            raise GatewayError(f"{self.name}: cannot issue {method}")
        answer = self._post("/orders", order, f"issue:{key}")
        if method == "pix":
            qr = field(answer, "qr_codes")[0]
            return Charge(
                str(field(answer, "id")), expires_at, pix_copy_paste=str(field(qr, "text"))
            )
        charge = field(answer, "charges")[0]
        line = field(charge, "payment_method", "boleto", "barcode")
        return Charge(str(field(charge, "id")), expires_at, boleto_line=str(line))

    def read_webhook(
        self, headers: Mapping[str, str], query: Mapping[str, str], body: bytes, now: datetime
    ) -> GatewayNotification:
        given = headers.get("x-authenticity-token", "")
        if not given or not hmac.compare_digest(
            pagseguro_signature(self._webhook_secret, body), given
        ):
            raise InvalidWebhookError("x-authenticity-token is missing or does not match")
        try:
            payload = json.loads(body)
            charge = payload["charges"][0] if "charges" in payload else payload
            status = str(charge["status"])
            # `issue` records the order's id for a Pix and the charge's id for a boleto
            is_boleto = str((charge.get("payment_method") or {}).get("type")).upper() == "BOLETO"
            return GatewayNotification(
                provider=self.provider,
                event_id=f"{charge['id']}:{status}",
                status=STATUSES.get(status, "other"),
                charge_id=str(charge["id"] if is_boleto else payload.get("id", charge["id"])),
                reference=str(payload.get("reference_id") or charge.get("reference_id") or ""),
                amount=Money(Decimal(int(charge["amount"]["value"])) / 100),
            )
        except UNREADABLE:
            raise MalformedWebhookError("unreadable PagBank notification") from None
