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
import secrets
from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any

import redis

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
from infrastructure.gateways.payments.http import JsonApi, cents, field
from infrastructure.read_stores.redis_keys import card_intake_key

ENCRYPTED = re.compile(r"[A-Za-z0-9+/]{300,1400}={0,2}")  # RSA-2048..4096, base64
INTAKE = re.compile(r"intake_[0-9a-f]{32}")
INTAKE_TTL_S = 3600  # the checkout's card, until its first charge (the saga's is ~1 minute)
STATUSES = {"PAID": "paid", "DECLINED": "failed", "CANCELED": "expired"}


class CardIntake:
    """The encrypted card between the checkout (API) and its first charge (worker), never
    in the event log: `PagSeguro.encryptCard` holds the card number AND its security code,
    which may not be kept after the authorization, even encrypted (PCI DSS 3.3.1), and the
    log is never rewritten. So the checkout keeps the blob here under a random handle (the
    handle is what the payment records), for at most INTAKE_TTL_S; the first charge sends
    it with `store: true` and PagBank answers its own card token (`payment_method.card.id`,
    "Criar e pagar pedido com token PagBank", developer.pagbank.com.br/reference/
    criar-pagar-pedido-com-token-pagbank: made even when the charge is declined, usable only
    by our account), which replaces the blob: a retry, or another PagBank acquirer of the
    chain, charges the card id. PagBank documents no other way to exchange the blob (its
    `/tokens/cards` appears only in community threads, behind a separate permission).

    In Redis (`pagseguro:intake:<handle>`), shared by API and workers; without a client, in
    this process's memory (contract tests, which run one process)."""

    def __init__(self, client: redis.Redis | None = None, ttl_s: int = INTAKE_TTL_S):
        self._redis, self._ttl_s = client, ttl_s
        self._memory: dict[str, str] = {}

    def _set(self, handle: str, value: dict[str, Any], keep_ttl: bool = False) -> None:
        raw = json.dumps(value)
        if self._redis is None:
            self._memory[handle] = raw
        elif keep_ttl:
            self._redis.set(card_intake_key(handle), raw, keepttl=True)
        else:
            self._redis.set(card_intake_key(handle), raw, ex=self._ttl_s)

    def keep(self, encrypted: str) -> str:
        handle = "intake_" + secrets.token_hex(16)
        self._set(handle, {"encrypted": encrypted})
        return handle

    def card(self, handle: str) -> dict[str, Any] | None:
        """`{encrypted}` before the first charge, `{card_id, key, charge}` after; None once
        expired."""
        if self._redis is None:
            raw: Any = self._memory.get(handle)
        else:
            raw = self._redis.get(card_intake_key(handle))
        return None if raw is None else dict(json.loads(raw))

    def exchanged(self, handle: str, card_id: str, key: str, charge: dict[str, Any]) -> None:
        """PagBank's card token replaces the encrypted card (which is gone for good), with
        the charge's answer for the payment `key`: a retry of that very charge (a crash
        before it was recorded) gets the same answer, as PagBank's idempotency would give,
        without the blob its key was first sent with."""
        answer = {k: charge.get(k) for k in ("id", "status", "payment_response")}
        self._set(handle, {"card_id": card_id, "key": key, "charge": answer}, keep_ttl=True)


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
        intake: CardIntake | None = None,
    ):
        self.name = name
        self._public_key = public_key
        self._intake = intake or CardIntake()
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
        checked for its shape here and by PagBank when charged. It is kept in the intake,
        never in the log: the payment records the intake's handle (see CardIntake). PagBank
        tells the brand and last digits only in the charge's answer: none are known before."""
        if ENCRYPTED.fullmatch(token) is None:
            raise UnusableCardTokenError("not a PagBank encrypted card")
        return CardToken(self._intake.keep(token), "", "")

    def _card(self, token: str, key: str) -> dict[str, Any] | None:
        """What the charge names the card by: PagBank's card id once a charge made one,
        else the encrypted card, stored at PagBank by this charge (`store: true`). A bare
        blob is a payment recorded before the intake existed."""
        if INTAKE.fullmatch(token) is None:
            return {"encrypted": token, "store": True} if ENCRYPTED.fullmatch(token) else None
        kept = self._intake.card(token)
        if kept is None:
            return None
        if kept.get("key") == key:
            return {"answered": kept["charge"]}  # this very charge was answered already
        if "card_id" in kept:
            return {"id": kept["card_id"]}
        return {"encrypted": kept["encrypted"], "store": True}

    def authorize(
        self, token: str, amount: Money, key: str, installments: int = 1
    ) -> Authorization:
        card = self._card(token, key)
        if card is None:  # the intake's hour passed before any charge: the shopper retries
            return Authorization(False, decline_reason="card_token_expired")
        if "answered" in card:
            return self._decision(card["answered"])
        store = bool(card.pop("store", False))
        method: dict[str, Any] = {
            "type": "CREDIT_CARD",
            "installments": installments,
            "capture": False,
            "card": card,
        }
        if store:
            method["store"] = True
        charge = self._post(
            "/charges",
            {
                "reference_id": key,
                "description": f"Pedido EcoVarejo {key[:8]}",
                "amount": {"value": cents(amount.amount), "currency": "BRL"},
                "payment_method": method,
            },
            f"authorize:{key}",
        )
        card_id = ((charge.get("payment_method") or {}).get("card") or {}).get("id")
        if INTAKE.fullmatch(token) and card_id:
            self._intake.exchanged(token, str(card_id), key, charge)
        return self._decision(charge)

    @staticmethod
    def _decision(charge: dict[str, Any]) -> Authorization:
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
