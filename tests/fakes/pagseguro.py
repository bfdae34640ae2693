"""A local PagSeguro (PagBank), after developer.pagbank.com.br:

- Cards are encrypted in the shopper's browser by PagBank's SDK, offline, with the account's
  RSA public key ("Cobrança com cartão criptografado",
  dev.pagseguro.uol.com.br/reference/charge-encrypted; "Criptografia e chave pública",
  developer.pagbank.com.br/docs/criptografia-e-chave-publica): `encrypt_card` plays
  `PagSeguro.encryptCard` with this fake's key pair (RSA-OAEP, base64); only the fake, as
  PagBank, can decrypt it.
- `POST /charges` ("Criar e pagar pedido" / charges API): `payment_method {type:
  CREDIT_CARD, installments, capture: false, card: {encrypted}}` -> the charge `{id: "CHAR_…",
  reference_id, status: AUTHORIZED | DECLINED, amount {value, currency}, payment_response
  {code, message}}` (declines answer 201 with status DECLINED, as the reference shows).
- `payment_method.store: true` ("Criar e pagar pedido com token PagBank",
  developer.pagbank.com.br/reference/criar-pagar-pedido-com-token-pagbank): PagBank keeps
  the card and answers its token in `payment_method.card.id` (even when the charge is
  declined); a later charge names the card by `card: {id}` alone. A token is usable only by
  the account that made it.
- `POST /charges/{id}/capture` `{amount: {value}}` -> status PAID; `POST
  /charges/{id}/cancel` -> status CANCELED (voids an authorized charge, refunds a paid one).
- `POST /orders` with `qr_codes` (Pix: `qr_codes[0].text` is the BR Code) or with a BOLETO
  charge (`payment_method.boleto.barcode`, the 47-digit line, and `formatted_barcode`).
- `x-idempotency-key` replays the first answer. Notifications carry `x-authenticity-token`
  = SHA-256 hex of `"<token>-<payload>"` ("Confirmar autenticidade da notificação").
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
from datetime import date
from decimal import Decimal
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from domain.boleto import Boleto
from domain.money import Money
from domain.pix import PixCharge
from tests.fakes.base import TEST_CARDS, FakeProvider, Request

_OAEP = padding.OAEP(
    mgf=padding.MGF1(algorithm=hashes.SHA256()), algorithm=hashes.SHA256(), label=None
)


class FakePagSeguro(FakeProvider):
    key_header = "x-idempotency-key"

    def __init__(self, token: str = "pagbank-token"):
        super().__init__()
        self.token = token
        self.route("GET", r"/charges/(?P<id>[^/]+)", self.read_charge)
        self.charges: dict[str, dict[str, Any]] = {}
        self.stored_cards: dict[str, list[str]] = {}  # PagBank's card tokens (store: true)
        self._key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.route("POST", "/charges", self.charge)
        self.route("POST", r"/charges/(?P<id>[^/]+)/capture", self.capture)
        self.route("POST", r"/charges/(?P<id>[^/]+)/cancel", self.cancel)
        self.route("POST", "/orders", self.order)

    def _dispatch(self, request: Request) -> tuple[int, bytes]:
        if request.headers.get("authorization") != f"Bearer {self.token}":
            return 401, b'{"error_messages": [{"code": "UNAUTHORIZED"}]}'
        return super()._dispatch(request)

    def idempotency_mismatch(self) -> dict[str, Any]:
        return {"error_messages": [{"code": "40002", "description": "idempotency key reused"}]}

    def encrypt_card(self, number: str, exp: str = "12/30", cvc: str = "123") -> str:
        """`PagSeguro.encryptCard({publicKey, holder, number, expMonth, expYear,
        securityCode}).encryptedCard`: done in the browser, no call to PagBank."""
        month, year = exp.split("/")
        plain = json.dumps([number, cvc, month, f"20{year}", "Maria Silva"]).encode()
        sealed = self._key.public_key().encrypt(plain, _OAEP)
        return base64.b64encode(sealed).decode()

    def _decrypt(self, encrypted: str) -> list[str] | None:
        try:
            return list(json.loads(self._key.decrypt(base64.b64decode(encrypted), _OAEP)))
        except (ValueError, TypeError):
            return None

    def _card_of(self, method: dict[str, Any]) -> list[str] | None:
        given = method.get("card") or {}
        if "id" in given:
            return self.stored_cards.get(str(given["id"]))
        return self._decrypt(given.get("encrypted", ""))

    def charge(self, r: Request) -> tuple[int, dict[str, Any]]:
        method = r.params["payment_method"]
        card = self._card_of(method)
        if card is None:
            return 400, {"error_messages": [{"code": "40002", "description": "invalid card"}]}
        card_id = (method.get("card") or {}).get("id")
        if method.get("store") is True and card_id is None:
            card_id = f"CARD_{secrets.token_hex(16).upper()}"
            self.stored_cards[card_id] = card
        behaviour = TEST_CARDS.get(card[0], "approved")
        if behaviour == "processing_error":
            return 502, {"error_messages": [{"code": "50000"}]}
        charge = {
            "id": f"CHAR_{secrets.token_hex(8)}",
            "reference_id": r.params.get("reference_id"),
            "amount": {"value": r.params["amount"]["value"], "currency": "BRL"},
            "payment_method": {
                "type": "CREDIT_CARD",
                "installments": method.get("installments"),
                "card": {
                    "brand": "visa",
                    "first_digits": card[0][:6],
                    "last_digits": card[0][-4:],
                    **({"id": card_id} if card_id else {}),
                },
            },
        }
        if behaviour == "approved":
            charge |= {
                "status": "AUTHORIZED",
                "payment_response": {"code": "20000", "message": "SUCESSO"},
            }
            self.charges[charge["id"]] = charge
            self.ledger.append(
                {"op": "authorize", "id": charge["id"], "amount": charge["amount"]["value"]}
            )
        else:
            message = "NAO AUTORIZADO" if behaviour == "declined" else "SALDO INSUFICIENTE"
            charge |= {
                "status": "DECLINED",
                "payment_response": {"code": "10002", "message": message},
            }
        return 201, charge

    def edi_extract(self) -> str:
        """The EDI financial extract (`detalhes[]`: `tipo_evento` 1 sale, 6 cancellation;
        `codigo_venda` our reference, `codigo_transacao` the charge; amounts in reais)."""
        details = []
        for row in self.ledger:
            event = {"capture": "1", "refund": "6"}.get(row["op"])
            if event is None:
                continue
            charge = self.charges[row["id"]]
            value = Decimal(int(row["amount"] or charge["amount"]["value"])) / 100
            fee = (value * Decimal("0.0399")).quantize(Decimal("0.01")) if event == "1" else 0
            details.append(
                {
                    "codigo_transacao": row["id"],
                    "codigo_venda": charge["reference_id"],
                    "tipo_evento": event,
                    "valor_total_transacao": str(value),
                    "taxa_intermediacao": str(fee),
                    "valor_liquido_transacao": str(value - fee),
                    "data_venda_ajuste": date.today().isoformat(),
                }
            )
        return json.dumps({"detalhes": details, "pagination": {"page": 1, "totalPages": 1}})

    def read_charge(self, r: Request) -> tuple[int, dict[str, Any]]:
        charge = self.charges.get(r.match["id"] if r.match else "")
        if charge is None:
            return 404, {"error_messages": [{"code": "40004", "description": "not found"}]}
        return 200, charge

    def capture(self, r: Request) -> tuple[int, dict[str, Any]]:
        charge = self.charges.get(r.match["id"]) if r.match else None
        if charge is None or charge["status"] != "AUTHORIZED":
            return 400, {"error_messages": [{"code": "40001", "description": "invalid status"}]}
        charge["status"] = "PAID"
        self.ledger.append(
            {"op": "capture", "id": charge["id"], "amount": r.params["amount"]["value"]}
        )
        return 201, charge

    def cancel(self, r: Request) -> tuple[int, dict[str, Any]]:
        charge = self.charges.get(r.match["id"]) if r.match else None
        if charge is None or charge["status"] not in ("AUTHORIZED", "PAID"):
            return 400, {"error_messages": [{"code": "40001", "description": "invalid status"}]}
        op = "void" if charge["status"] == "AUTHORIZED" else "refund"
        charge["status"] = "CANCELED"
        self.ledger.append(
            {"op": op, "id": charge["id"], "amount": (r.params.get("amount") or {}).get("value")}
        )
        return 201, charge

    def order(self, r: Request) -> tuple[int, dict[str, Any]]:
        order_id = f"ORDE_{secrets.token_hex(8)}"
        answer: dict[str, Any] = {"id": order_id, "reference_id": r.params.get("reference_id")}
        for qr in r.params.get("qr_codes", []):
            value = Money(Decimal(qr["amount"]["value"]) / 100)
            text = PixCharge(
                amount=value,
                txid=order_id[5:],
                merchant_name="PagBank",
                merchant_city="Sao Paulo",
                key="pagbank@example.com",
            ).br_code()
            answer["qr_codes"] = [
                {
                    "id": f"QRCO_{secrets.token_hex(8)}",
                    "text": text,
                    "expiration_date": qr.get("expiration_date"),
                }
            ]
        charges = []
        for c in r.params.get("charges", []):
            boleto = c["payment_method"]["boleto"]
            line = Boleto(
                bank="290",
                amount=Money(Decimal(c["amount"]["value"]) / 100),
                due_date=date.fromisoformat(boleto["due_date"]),
                free_field=f"{secrets.randbelow(10**25):025d}",
            )
            charge = {
                "id": f"CHAR_{secrets.token_hex(8)}",
                "reference_id": c.get("reference_id"),
                "status": "WAITING",
                "amount": c["amount"],
                "payment_method": {
                    "type": "BOLETO",
                    "boleto": {
                        "barcode": line.digitable_line,
                        "formatted_barcode": line.formatted_line,
                        "due_date": boleto["due_date"],
                    },
                },
            }
            self.charges[charge["id"]] = charge
            charges.append(charge)
        if charges:
            answer["charges"] = charges
        return 201, answer

    def notification(
        self, charge: dict[str, Any], *, token: str | None = None
    ) -> tuple[dict[str, str], bytes]:
        body = json.dumps(charge).encode()
        digest = hashlib.sha256(f"{token or self.token}-".encode() + body).hexdigest()
        return {"x-authenticity-token": digest}, body
