"""PagSeguro (PagBank): the Orders and Charges APIs and their signed notifications.

Follows PagBank's API reference (developer.pagbank.com.br): `Authorization: Bearer <token>`
and `x-idempotency-key` on every POST. Cards are encrypted in the shopper's browser by PagBank's
SDK (`PagSeguro.encryptCard` with the public key from `POST /public-keys`; "Cobrança com
cartão criptografado", dev.pagseguro.uol.com.br/reference/charge-encrypted): the server
never sees the card number. `POST /charges` with `payment_method {type: CREDIT_CARD,
installments, capture: false, card: {encrypted}}` answers
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
    GatewayError,
    GatewayNotification,
    InvalidWebhookError,
    MalformedWebhookError,
    Payer,
    UnusableCardTokenError,
)
from domain.money import Money
from infrastructure.gateways.http import JsonApi, cents, field

ENCRYPTED = re.compile(r"[A-Za-z0-9+/]{300,1400}={0,2}")  # RSA-2048..4096, base64
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
        public_key: str = "",
    ):
        self.name = name
        self._public_key = public_key
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

    def public_config(self) -> dict[str, str]:
        return {
            "public_key": self._public_key,
            "sdk": "https://assets.pagseguro.com.br/checkout-sdk-js/rc/dist/browser/pagseguro.min.js",
        }

    def accept_token(self, token: str) -> CardToken:
        """A card encrypted in the shopper's browser by PagBank's SDK (`PagSeguro.encryptCard`
        with the account's public key: RSA, base64): only PagBank can read it, so it is
        checked for its shape here and by PagBank when charged. PagBank tells the brand and
        last digits only in the charge's answer: none are known before."""
        if ENCRYPTED.fullmatch(token) is None:
            raise UnusableCardTokenError("not a PagBank encrypted card")
        return CardToken(token, "", "")

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
                    "card": {"encrypted": token},
                },
            },
            f"authorize:{key}",
        )
        status = field(charge, "status")
        if status == "AUTHORIZED":
            return Authorization(True, str(field(charge, "id")))
        response = charge.get("payment_response") or {}
        return Authorization(False, decline_reason=str(response.get("message") or status).lower())

    def authentication_result(self, authorization_id: str) -> Authorization:
        """PagBank authenticates (3-D Secure) in the browser before the charge
        (`PagSeguro.authenticate3DS`), so a charge never waits for the shopper: this reads
        its state (`GET /charges/{id}`) for a front end's confirmation all the same."""
        status, charge = self._api.call("GET", f"/charges/{authorization_id}")
        if status >= 400:
            raise GatewayError(f"{self.name}: charge not read ({status})", retryable=True)
        if field(charge, "status") == "AUTHORIZED":
            return Authorization(True, authorization_id)
        return Authorization(False, authorization_id, decline_reason=str(charge["status"]).lower())

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
