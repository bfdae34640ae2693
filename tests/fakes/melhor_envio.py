"""A local Melhor Envio, after its API reference (https://docs.melhorenvio.com.br/reference:
"Cálculo de fretes", "Inserir fretes no carrinho", "Compra de etiquetas", "Geração de
etiquetas", "Impressão de etiquetas", "Rastreio de envios") and its webhook guide
(https://docs.melhorenvio.com.br/docs/webhooks):

- `POST /api/v2/me/shipment/calculate` -> a JSON list of services; a route a service does
  not serve comes back as `{id, name, error}` (here: service 17, Mini Envios, above 300 g);
- `POST /api/v2/me/cart` -> `{id, protocol, status: "pending", …}` (tags kept);
  `POST /api/v2/me/cart/return` ("Inserir Logística Reversa no carrinho"): PAC or SEDEX
  back from the shopper of a parcel sent through us (`order_id`), with the returning
  sender's `new_sender_mail` and `new_sender_phone`;
  `…/shipment/checkout` -> `{purchase: {id, status: "paid", orders: […]}}`;
  `…/shipment/generate` -> `{id: {status: true, message}}`;
  `…/shipment/print` -> `{url}`; `…/shipment/tracking` -> `{id: {status, tracking, …}}`;
- a bearer token on every call (401 `{"message": "Unauthenticated."}` otherwise);
- webhooks signed `X-ME-Signature: base64(HMAC-SHA256(body, secret))`, built by
  `webhook()` for a test to post to our API, with São Paulo local times.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import uuid
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from tests.fakes.base import FakeProvider, Request

SAO_PAULO = ZoneInfo("America/Sao_Paulo")
SERVICES = [
    {"id": 1, "name": "PAC", "company": "Correios", "price": "24.53", "days": 6},
    {"id": 2, "name": "SEDEX", "company": "Correios", "price": "41.10", "days": 2},
    {"id": 3, "name": ".Package", "company": "Jadlog", "price": "19.87", "days": 5},
    {"id": 17, "name": "Mini Envios", "company": "Correios", "price": "12.40", "days": 8},
]


def local(at: datetime) -> str:
    return at.astimezone(SAO_PAULO).strftime("%Y-%m-%d %H:%M:%S")


class FakeMelhorEnvio(FakeProvider):
    key_header = "x-no-idempotency"  # Melhor Envio documents no idempotency key

    def __init__(self, token: str = "me-token", secret: str = "me-secret"):
        super().__init__()
        self.token, self.secret = token, secret
        self.orders: dict[str, dict[str, Any]] = {}
        self.route("POST", "/api/v2/me/shipment/calculate", self.calculate)
        self.route("POST", "/api/v2/me/cart", self.cart)
        self.route("POST", "/api/v2/me/cart/return", self.cart_return)
        self.route("POST", "/api/v2/me/shipment/checkout", self.checkout)
        self.route("POST", "/api/v2/me/shipment/generate", self.generate)
        self.route("POST", "/api/v2/me/shipment/print", self.print_labels)
        self.route("POST", "/api/v2/me/shipment/tracking", self.tracking)

    def _dispatch(self, request: Request) -> tuple[int, bytes]:
        if request.headers.get("authorization") != f"Bearer {self.token}":
            return 401, b'{"message": "Unauthenticated."}'
        if not request.headers.get("user-agent", "").strip():
            return 400, b'{"message": "User-Agent required"}'
        return super()._dispatch(request)

    def calculate(self, r: Request) -> tuple[int, Any]:
        weight = float(r.params["package"]["weight"])
        answer = []
        for s in SERVICES:
            if s["id"] == 17 and weight > 0.3:
                answer.append({"id": 17, "name": s["name"], "error": "Peso excedido"})
                continue
            answer.append(
                {
                    "id": s["id"],
                    "name": s["name"],
                    "price": s["price"],
                    "custom_price": s["price"],
                    "delivery_time": s["days"],
                    "company": {"id": 1, "name": s["company"]},
                }
            )
        return 200, answer

    def cart(self, r: Request) -> tuple[int, dict[str, Any]]:
        service = next((s for s in SERVICES if s["id"] == r.params.get("service")), None)
        if service is None:  # the API's validation error (Laravel's shape)
            return 422, {
                "message": "The given data was invalid.",
                "errors": {"service": ["O serviço selecionado é inválido."]},
            }
        order_id = str(uuid.uuid4())
        self.orders[order_id] = {
            "id": order_id,
            "protocol": f"ORD-{order_id[:8]}",
            "status": "pending",
            "tracking": None,
            "melhorenvio_tracking": None,
            "tags": r.params["options"].get("tags", []),
            "to": r.params["to"],
            "service": service,
        }
        self.ledger.append({"op": "cart", "id": order_id})
        return 201, {
            "id": order_id,
            "protocol": self.orders[order_id]["protocol"],
            "status": "pending",
            "service": {"id": service["id"], "name": service["name"]},
            "company": {"name": service["company"]},
            "price": float(service["price"]),
        }

    def cart_return(self, r: Request) -> tuple[int, dict[str, Any]]:
        """Reverse logistics of a parcel first sent through us: PAC or SEDEX only, the
        original's id as `order_id`, the returning sender's e-mail and phone."""
        original = self.orders.get(str(r.params.get("order_id")))
        if r.params.get("service") not in (1, 2):
            return 422, {"message": "Logística reversa: apenas PAC (1) ou SEDEX (2)"}
        if original is None:
            return 422, {"message": "O envio original não foi encontrado"}
        if not r.params.get("new_sender_mail") or not r.params.get("new_sender_phone"):
            return 422, {"message": "Dados de contato do remetente são obrigatórios"}
        service = next(s for s in SERVICES if s["id"] == r.params["service"])
        order_id = str(uuid.uuid4())
        self.orders[order_id] = {
            "id": order_id,
            "protocol": f"REV-{order_id[:8]}",
            "status": "pending",
            "tracking": None,
            "melhorenvio_tracking": None,
            "tags": r.params.get("options", {}).get("tags", []),
            "reverse_of": original["id"],
            "to": original["to"],
            "service": service,
        }
        self.ledger.append({"op": "cart", "id": order_id, "reverse": True})
        return 201, {
            "id": order_id,
            "protocol": self.orders[order_id]["protocol"],
            "status": "pending",
            "service": {"id": service["id"], "name": service["name"]},
            "company": {"name": service["company"]},
        }

    def checkout(self, r: Request) -> tuple[int, dict[str, Any]]:
        for order_id in r.params["orders"]:
            self.orders[order_id]["status"] = "released"
            self.ledger.append({"op": "purchase", "id": order_id})
        return 200, {"purchase": {"id": str(uuid.uuid4()), "status": "paid"}}

    def generate(self, r: Request) -> tuple[int, dict[str, Any]]:
        answer = {}
        for order_id in r.params["orders"]:
            order = self.orders[order_id]
            order["status"] = "generated"
            order["melhorenvio_tracking"] = f"ME{order_id[:10].replace('-', '').upper()}"
            answer[order_id] = {"status": True, "message": "Envio gerado com sucesso"}
        return 200, answer

    def print_labels(self, r: Request) -> tuple[int, dict[str, Any]]:
        return 200, {"url": f"https://melhorenvio.com.br/imprimir/{r.params['orders'][0]}"}

    def tracking(self, r: Request) -> tuple[int, dict[str, Any]]:
        return 200, {
            i: {k: v for k, v in self.orders[i].items() if k not in ("to", "service", "reverse_of")}
            for i in r.params["orders"]
            if i in self.orders
        }

    # What Melhor Envio sends to the shop ------------------------------------------------
    def webhook(self, order_id: str, event: str, at: datetime) -> tuple[dict[str, str], bytes]:
        order = self.orders[order_id]
        field = {"order.posted": "posted_at", "order.delivered": "delivered_at"}.get(
            event, "updated_at"
        )
        data = {k: v for k, v in order.items() if k not in ("to", "service")}
        data[field] = local(at)
        body = json.dumps({"event": event, "data": data}).encode()
        signature = base64.b64encode(hmac.new(self.secret.encode(), body, hashlib.sha256).digest())
        return {"X-ME-Signature": signature.decode(), "Content-Type": "application/json"}, body
