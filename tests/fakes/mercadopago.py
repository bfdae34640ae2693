"""A local Mercado Pago, after its developer docs (Checkout API, "Payments" reference):

- `POST /v1/card_tokens?public_key=…` `{card_number, expiration_month, expiration_year,
  security_code, cardholder}` -> `{id, first_six_digits, last_four_digits, status: "active"}`:
  what MercadoPago.js (`mp.fields.createCardToken`) does in the shopper's browser with the
  PUBLIC key (`mercadopago_js_card`); our server reads it back with the access token,
  `GET /v1/card_tokens/{id}` (the SDKs' CardToken.get). A token pays once: after a payment
  it reads `status: "used"` and a second payment with it is refused.
- 3-D Secure ("3DS 2.0" guide): with `three_d_secure_mode: "optional"` a card that needs it
  (here 4000002500003155) answers `status: "pending"`, `status_detail:
  "pending_challenge"`, `three_ds_info {external_resource_url, creq}`; `challenge(id, ok)`
  plays the shopper (-> `authorized`, or `rejected` / `cc_rejected_3ds_challenge`).
- `POST /v1/payments` with `X-Idempotency-Key`: a card (`token`, `payment_method_id`,
  `installments`, `capture: false`) -> `status: "authorized"` or `"rejected"` with
  `status_detail` (`cc_rejected_other_reason`, `cc_rejected_insufficient_amount`); Pix
  (`payment_method_id: "pix"`, `date_of_expiration`) -> `status: "pending"` and
  `point_of_interaction.transaction_data.qr_code`; boleto (`bolbradesco`, payer
  identification CPF) -> `transaction_details.digitable_line`.
- `PUT /v1/payments/{id}` `{capture: true}` -> `approved`; `{status: "cancelled"}` ->
  `cancelled`; `POST /v1/payments/{id}/refunds` `{amount}`; `GET /v1/payments/{id}`.
- Webhooks ("Notifications > Webhooks"): body `{id, type: "payment", action, data: {id}}`,
  `?data.id=…&type=payment` in the URL, `x-request-id`, and `x-signature: ts=…,v1=…` the
  HMAC-SHA256 of `id:<data.id>;request-id:<x-request-id>;ts:<ts>;`.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import time
import uuid
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import httpx

from domain.boleto import Boleto
from domain.money import Money
from domain.pix import PixCharge
from tests.fakes.base import TEST_CARDS, FakeProvider, Request


class FakeMercadoPago(FakeProvider):
    key_header = "x-idempotency-key"

    def __init__(self, access_token: str = "APP_USR-fake", webhook_secret: str = "mp-secret"):
        super().__init__()
        self.access_token, self.webhook_secret = access_token, webhook_secret
        self.tokens: dict[str, str] = {}
        self.payments: dict[str, dict[str, Any]] = {}
        self.public_key = "APP_USR-public-fake"
        self.token_cards: dict[str, dict[str, Any]] = {}
        self.route("POST", "/v1/card_tokens", self.card_token)
        self.route("GET", r"/v1/card_tokens/(?P<id>[0-9a-f]+)", self.read_card_token)
        self.route("POST", "/v1/payments", self.create)
        self.route("PUT", r"/v1/payments/(?P<id>\d+)", self.update)
        self.route("POST", r"/v1/payments/(?P<id>\d+)/refunds", self.refund)
        self.route("GET", r"/v1/payments/(?P<id>\d+)", self.read)
        self.chargebacks: dict[str, dict[str, Any]] = {}
        self.route("GET", r"/v1/chargebacks/(?P<id>\d+)", self.read_chargeback)

    def _dispatch(self, request: Request) -> tuple[int, bytes]:
        browser = request.method == "POST" and request.path == "/v1/card_tokens"
        if browser and request.query.get("public_key") == self.public_key:
            return super()._dispatch(request)  # MercadoPago.js, in the browser
        if request.headers.get("authorization") != f"Bearer {self.access_token}":
            return 401, b'{"message": "invalid access token", "status": 401}'
        return super()._dispatch(request)

    def mercadopago_js_card(self, number: str, exp: str = "12/30", cvc: str = "123") -> str:
        """What MercadoPago.js `createCardToken` does in the browser: only the token id comes
        back to the page (and on to our API)."""
        month, year = exp.split("/")
        body = {
            "card_number": number,
            "expiration_month": int(month),
            "expiration_year": 2000 + int(year),
            "security_code": cvc,
            "cardholder": {"name": "APRO"},
        }
        answer = httpx.post(
            f"{self.url}/v1/card_tokens",
            params={"public_key": self.public_key},
            json=body,
            timeout=5,
        )
        return str(answer.json()["id"])

    def read_card_token(self, r: Request) -> tuple[int, dict[str, Any]]:
        card = self.token_cards.get(r.match["id"] if r.match else "")
        if card is None:
            return 404, {"message": "card token not found", "status": 404}
        return 200, card

    def challenge(self, payment_id: str, ok: bool = True) -> dict[str, Any]:
        """The shopper's 3-D Secure challenge in the iframe: passed or failed."""
        payment = self.payments[payment_id]
        assert payment["status_detail"] == "pending_challenge"
        payment.pop("three_ds_info", None)
        if ok:
            payment |= {"status": "authorized", "status_detail": "pending_capture"}
            amount = Decimal(str(payment["transaction_amount"]))
            self.ledger.append({"op": "authorize", "id": payment_id, "amount": amount})
        else:
            payment |= {"status": "rejected", "status_detail": "cc_rejected_3ds_challenge"}
        return payment

    def idempotency_mismatch(self) -> dict[str, Any]:
        return {"message": "idempotency key already used", "status": 400}

    def card_token(self, r: Request) -> tuple[int, dict[str, Any]]:
        number = r.params["card_number"]
        token = secrets.token_hex(16)
        behaviour = TEST_CARDS.get(number, "approved")
        self.tokens[token] = "challenge" if number == "4000002500003155" else behaviour
        self.token_cards[token] = {
            "id": token,
            "first_six_digits": number[:6],
            "last_four_digits": number[-4:],
            "status": "active",
        }
        return 201, self.token_cards[token]

    def create(self, r: Request) -> tuple[int, dict[str, Any]]:
        p = r.params
        pid = str(int(uuid.uuid4().int % 10**10))
        amount = Decimal(str(p["transaction_amount"]))
        payment: dict[str, Any] = {
            "id": int(pid),
            "transaction_amount": float(amount),
            "external_reference": p.get("external_reference"),
            "payment_method_id": p["payment_method_id"],
        }
        if p["payment_method_id"] == "pix":
            code = PixCharge(
                amount=Money(amount),
                txid=pid,
                merchant_name="Mercado Pago",
                merchant_city="Sao Paulo",
                key="mp@example.com",
            ).br_code()
            payment |= {
                "status": "pending",
                "status_detail": "pending_waiting_transfer",
                "point_of_interaction": {"transaction_data": {"qr_code": code}},
            }
        elif p["payment_method_id"] == "bolbradesco":
            if len(p.get("payer", {}).get("identification", {}).get("number", "")) != 11:
                return 400, {"message": "payer.identification is required", "status": 400}
            line = Boleto(
                bank="237",
                amount=Money(amount),
                due_date=date.today() + timedelta(days=3),
                free_field=f"{int(pid):025d}",
            ).digitable_line
            payment |= {
                "status": "pending",
                "status_detail": "pending_waiting_payment",
                "transaction_details": {"digitable_line": line},
            }
        else:
            behaviour = self.tokens.get(p.get("token", ""))
            card = self.token_cards.get(p.get("token", ""))
            if behaviour is None or (card and card["status"] != "active"):
                return 400, {"message": "invalid card token", "status": 400}
            if card:
                card["status"] = "used"
            if behaviour == "processing_error":
                return 500, {"message": "internal error", "status": 500}
            if behaviour == "challenge":
                payment |= {
                    "status": "pending",
                    "status_detail": "pending_challenge",
                    "installments": p.get("installments"),
                    "three_ds_info": {
                        "external_resource_url": f"{self.url}/3ds/challenge/{pid}",
                        "creq": secrets.token_urlsafe(24),
                    },
                }
            elif behaviour != "approved":
                detail = (
                    "cc_rejected_insufficient_amount"
                    if behaviour == "insufficient_funds"
                    else "cc_rejected_other_reason"
                )
                payment |= {"status": "rejected", "status_detail": detail}
            else:
                payment |= {
                    "status": "authorized",
                    "status_detail": "pending_capture",
                    "installments": p.get("installments"),
                }
                self.ledger.append({"op": "authorize", "id": pid, "amount": amount})
        self.payments[pid] = payment
        return 201, payment

    def update(self, r: Request) -> tuple[int, dict[str, Any]]:
        payment = self.payments.get(r.match["id"]) if r.match else None
        if payment is None:
            return 404, {"message": "payment not found", "status": 404}
        if r.params.get("capture") is True and payment["status"] == "authorized":
            payment["status"] = "approved"
            self.ledger.append(
                {
                    "op": "capture",
                    "id": str(payment["id"]),
                    "amount": Decimal(str(r.params.get("transaction_amount"))),
                }
            )
        elif r.params.get("status") == "cancelled" and payment["status"] in (
            "authorized",
            "pending",
        ):
            payment["status"] = "cancelled"
            self.ledger.append({"op": "void", "id": str(payment["id"])})
        else:
            return 400, {"message": "invalid status transition", "status": 400}
        return 200, payment

    def refund(self, r: Request) -> tuple[int, dict[str, Any]]:
        payment = self.payments.get(r.match["id"]) if r.match else None
        if payment is None or payment["status"] != "approved":
            return 400, {"message": "payment cannot be refunded", "status": 400}
        payment["status"] = "refunded"
        self.ledger.append(
            {"op": "refund", "id": str(payment["id"]), "amount": Decimal(str(r.params["amount"]))}
        )
        return 201, {
            "id": int(time.time()),
            "payment_id": payment["id"],
            "amount": r.params["amount"],
            "status": "approved",
        }

    def read(self, r: Request) -> tuple[int, dict[str, Any]]:
        payment = self.payments.get(r.match["id"]) if r.match else None
        return (200, payment) if payment else (404, {"message": "not found", "status": 404})

    def chargeback(self, payment_id: str, outcome: str = "in_process") -> str:
        """The cardholder's bank disputes a payment ("Chargebacks": the case at
        `GET /v1/chargebacks/{id}`, the payment `charged_back` with `status_detail`
        in_process | settled (lost) | reimbursed (won)); returns the case id."""
        payment = self.payments[payment_id]
        case_id = str(10**15 + int(payment_id))
        self.chargebacks[case_id] = {
            "id": case_id,
            "payments": [int(payment_id)],
            "currency": "BRL",
            "amount": payment["transaction_amount"],
            "coverage_applied": outcome == "reimbursed",
            "documentation_required": True,
            "date_documentation_deadline": "2030-01-10T23:59:59.000-03:00",
        }
        payment |= {"status": "charged_back", "status_detail": outcome}
        return case_id

    def read_chargeback(self, r: Request) -> tuple[int, dict[str, Any]]:
        case = self.chargebacks.get(r.match["id"] if r.match else "")
        return (200, case) if case else (404, {"message": "not found", "status": 404})

    def settlement_report(self) -> str:
        """The settlement report CSV ("Relatório de liquidações"; `;` separated, fees
        negative, as the report shows them): one SETTLEMENT per capture, one REFUND per
        refund, with the payment id (`SOURCE_ID`) and our `EXTERNAL_REFERENCE`."""
        head = (
            "EXTERNAL_REFERENCE;SOURCE_ID;TRANSACTION_TYPE;TRANSACTION_AMOUNT;"
            "TRANSACTION_CURRENCY;TRANSACTION_DATE;FEE_AMOUNT;SETTLEMENT_NET_AMOUNT"
        )
        rows = [head]
        for row in self.ledger:
            kind = {"capture": "SETTLEMENT", "refund": "REFUND"}.get(row["op"])
            if kind is None:
                continue
            amount = Decimal(str(row["amount"]))
            fee = (
                (amount * Decimal("0.0498")).quantize(Decimal("0.01"))
                if kind == "SETTLEMENT"
                else 0
            )
            reference = self.payments[row["id"]].get("external_reference") or ""
            day = date.today().isoformat()
            rows.append(
                f"{reference};{row['id']};{kind};{amount};BRL;{day}T12:00:00.000-03:00;"
                f"-{fee};{amount - fee}"
            )
        return "\n".join(rows) + "\n"

    def pay(self, payment_id: str) -> None:
        """The payer pays the Pix or boleto (what the bank settlement does)."""
        self.payments[payment_id]["status"] = "approved"

    def webhook(
        self,
        payment_id: str,
        *,
        secret: str | None = None,
        at: int | None = None,
        topic: str = "payment",
    ) -> tuple[dict[str, str], dict[str, str], bytes]:
        body = json.dumps(
            {
                "id": int(time.time() * 1000) + len(self.requests),
                "type": topic,
                "action": f"{topic}.updated",
                "data": {"id": payment_id},
            }
        ).encode()
        request_id = str(uuid.uuid4())
        ts = int(time.time()) if at is None else at
        manifest = f"id:{payment_id};request-id:{request_id};ts:{ts};"
        mac = hmac.new((secret or self.webhook_secret).encode(), manifest.encode(), hashlib.sha256)
        headers = {"x-signature": f"ts={ts},v1={mac.hexdigest()}", "x-request-id": request_id}
        return headers, {"data.id": payment_id, "type": topic}, body
