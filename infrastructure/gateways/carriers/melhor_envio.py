"""Melhor Envio (quotes across Correios, Jadlog and others; labels; tracking), after its
API reference at https://docs.melhorenvio.com.br/reference (and the webhook guide at
https://docs.melhorenvio.com.br/docs/webhooks):

- every call: `Authorization: Bearer <token>`, `Accept: application/json` and a
  `User-Agent` naming the application and a contact e-mail;
- `POST /api/v2/me/shipment/calculate` (from/to postal codes, a package's dimensions in cm
  and weight in kg, `options.insurance_value`) -> a list of services
  `{id, name, price, delivery_time, company: {name}}`, or `{id, name, error}` for one that
  does not serve the route;
- a label is bought in four steps: `POST /api/v2/me/cart` (service, from, to, volumes,
  options with `tags: [{tag, url}]`) -> `{id, …}`; `POST /api/v2/me/shipment/checkout`
  `{orders: [id]}` pays it from the account's balance; `…/shipment/generate` makes it;
  `…/shipment/print` `{mode: "public", orders: [id]}` -> `{url}`. No idempotency key is
  documented: we keep the cart's id before paying and ask its status (`pending` until
  paid) before paying, so a repeat never pays twice;
- reverse logistics ("Inserir Logística Reversa no carrinho",
  https://docs.melhorenvio.com.br/reference/inserir-logistica-reversa-no-carrinho): Correios
  PAC or SEDEX (`service` 1 or 2) back from the shopper, for a parcel first sent through
  Melhor Envio (its id as `order_id`), with the returning sender's `new_sender_mail` and
  `new_sender_phone`, `insurance_value` and `package`; then paid, generated and printed as
  any label. The stored copy of that page does not show the route's path: we use
  `POST /api/v2/me/cart/return`, as public clients do — to be checked against the live
  reference before production;
- `POST /api/v2/me/shipment/tracking` `{orders: [id]}` -> `{id: {status, tracking,
  melhorenvio_tracking, posted_at, delivered_at, …}}`;
- webhooks `{event: "order.posted" | "order.delivered" | "order.undelivered" | …,
  data: {id, status, tracking, tags, posted_at, delivered_at, …}}` signed with
  `X-ME-Signature: base64(HMAC-SHA256(body, the application's secret))`. Times are local
  to São Paulo, written `YYYY-MM-DD HH:MM:SS`.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo

import httpx

from application.carriers import (
    CarrierError,
    CarrierQuote,
    CarrierSignatureError,
    Label,
    OpenedLabel,
    Parcel,
    Recipient,
    ReturnSender,
    TrackingReport,
    UnreadableCarrierWebhookError,
)
from domain.delivery import DeliveryStep
from domain.money import Money
from infrastructure.gateways.payments.http import dumps

SAO_PAULO = ZoneInfo("America/Sao_Paulo")
STEPS = {
    "order.posted": DeliveryStep.IN_TRANSIT,
    "order.delivered": DeliveryStep.DELIVERED,
    "order.undelivered": DeliveryStep.DELIVERY_FAILED,
}
STATUS_STEPS = {"posted": DeliveryStep.IN_TRANSIT, "delivered": DeliveryStep.DELIVERED}
STEP_TIME = {
    DeliveryStep.IN_TRANSIT: "posted_at",
    DeliveryStep.DELIVERED: "delivered_at",
    DeliveryStep.DELIVERY_FAILED: "updated_at",
}
# One box for every parcel: the catalog keeps weights, not dimensions (a documented limit).
BOX_CM = {"height": 10, "width": 20, "length": 30}


def _local_time(text: Any) -> datetime:
    if not isinstance(text, str):
        raise UnreadableCarrierWebhookError("a step without its time")
    try:
        return datetime.strptime(text, "%Y-%m-%d %H:%M:%S").replace(tzinfo=SAO_PAULO)
    except ValueError:
        raise UnreadableCarrierWebhookError(f"unreadable time {text!r}") from None


def _digits(postal_code: str) -> str:
    return postal_code.replace("-", "")


class MelhorEnvio:
    name = "melhorenvio"

    def __init__(
        self,
        token: str,
        webhook_secret: str,
        sender: Mapping[str, str],
        base_url: str = "https://www.melhorenvio.com.br",
        timeout_s: float = 10,
        contact: str = "ti@ecovarejo.com.br",
    ):
        self._client = httpx.Client(
            base_url=base_url.rstrip("/"),
            headers={
                "Authorization": f"Bearer {token}",
                "Accept": "application/json",
                "User-Agent": f"EcoVarejo ({contact})",
            },
            timeout=timeout_s,
        )
        self._secret = webhook_secret.encode()
        self._sender = dict(sender)

    def _call(self, path: str, body: Any) -> Any:
        """The JSON answer (an object, or a list for quotes); CarrierError otherwise."""
        try:
            response = self._client.post(
                path, content=dumps(body), headers={"Content-Type": "application/json"}
            )
        except httpx.HTTPError as error:
            raise CarrierError(f"melhorenvio: {type(error).__name__}", retryable=True) from None
        if response.status_code >= 500:
            raise CarrierError(f"melhorenvio: server error {response.status_code}", True)
        try:
            answer = response.json()
        except ValueError:
            raise CarrierError("melhorenvio: an answer that is not JSON", True) from None
        if response.status_code >= 400:
            message = answer.get("message") if isinstance(answer, dict) else None
            raise CarrierError(f"melhorenvio: {message or f'HTTP {response.status_code}'}")
        if not isinstance(answer, dict | list):
            raise CarrierError("melhorenvio: an answer that is not a JSON object", True)
        return answer

    def _object(self, path: str, body: Any) -> dict[str, Any]:
        answer = self._call(path, body)
        if not isinstance(answer, dict):
            raise CarrierError(f"melhorenvio: {path} answered a list, not an object", True)
        return answer

    def close(self) -> None:
        self._client.close()

    def _package(self, parcel: Parcel) -> dict[str, Any]:
        return {**BOX_CM, "weight": Decimal(parcel.weight_grams) / 1000}

    def quote(self, parcel: Parcel) -> list[CarrierQuote]:
        answer = self._call(
            "/api/v2/me/shipment/calculate",
            {
                "from": {"postal_code": _digits(parcel.from_postal_code)},
                "to": {"postal_code": _digits(parcel.to_postal_code)},
                "package": self._package(parcel),
                "options": {"insurance_value": parcel.declared_value.amount},
            },
        )
        services = answer if isinstance(answer, list) else answer.get("services", [])
        return [q for q in (self._quote(s) for s in services) if q is not None]

    @staticmethod
    def _quote(service: Any) -> CarrierQuote | None:
        if not isinstance(service, dict) or service.get("error") or "price" not in service:
            return None  # this service does not serve the route
        try:
            price = Money.brl(str(Decimal(str(service["price"])).quantize(Decimal("0.01"))))
            return CarrierQuote(
                service_id=str(service["id"]),
                carrier=str(service["company"]["name"]),
                service=str(service["name"]),
                price=price,
                days=int(service["delivery_time"]),
            )
        except (KeyError, TypeError, ValueError, InvalidOperation):
            raise CarrierError("melhorenvio: a quote without its documented fields") from None

    def open_label(
        self, order_ref: str, service_id: str, parcel: Parcel, recipient: Recipient
    ) -> OpenedLabel:
        """The label in the cart (nothing paid yet), which `complete_label` pays."""
        to = {
            "name": recipient.name,
            "address": recipient.line1,
            "complement": recipient.line2,
            "city": recipient.city,
            "state_abbr": recipient.state,
            "postal_code": _digits(recipient.postal_code),
        }
        cart = self._object(
            "/api/v2/me/cart",
            {
                "service": int(service_id),
                "from": {**self._sender, "postal_code": _digits(parcel.from_postal_code)},
                "to": to,
                "volumes": [self._package(parcel)],
                "options": {
                    "insurance_value": parcel.declared_value.amount,
                    "non_commercial": False,
                    "tags": [{"tag": order_ref, "url": None}],
                },
            },
        )
        return self._opened(cart, service_id)

    def open_return_label(
        self,
        order_ref: str,
        original_label_id: str,
        service_id: str,
        parcel: Parcel,
        sender: ReturnSender,
    ) -> OpenedLabel:
        """A reverse-logistics label (Correios PAC or SEDEX) for a parcel first sent with
        `original_label_id`, paid by the shop: in the cart, nothing paid yet."""
        cart = self._object(
            "/api/v2/me/cart/return",
            {
                "service": int(service_id),
                "order_id": original_label_id,
                "new_sender_mail": sender.email,
                "new_sender_phone": sender.phone,
                "insurance_value": parcel.declared_value.amount,
                "package": self._package(parcel),
                "options": {
                    "own_hand": False,
                    "receipt": False,
                    "tags": [{"tag": order_ref, "url": None}],
                },
            },
        )
        return self._opened(cart, service_id)

    @staticmethod
    def _opened(cart: dict[str, Any], service_id: str) -> OpenedLabel:
        label_id = str(cart.get("id") or "")
        if not label_id:
            raise CarrierError("melhorenvio: the cart answer has no id")
        company, service = cart.get("company"), cart.get("service")
        return OpenedLabel(
            label_id=label_id,
            carrier=str(company.get("name", "")) if isinstance(company, dict) else "",
            service=str(service.get("name", service_id))
            if isinstance(service, dict)
            else service_id,
        )

    def complete_label(self, label_id: str) -> Label:
        """Pay (only if still unpaid: asked first, so a repeat after a crash never buys it
        twice), generate and print the label in the cart as `label_id`."""
        state = self._state(label_id)
        if state.get("status") == "pending":
            self._call("/api/v2/me/shipment/checkout", {"orders": [label_id]})
            state = {**state, "status": "released"}
        if not (state.get("tracking") or state.get("melhorenvio_tracking")):
            self._call("/api/v2/me/shipment/generate", {"orders": [label_id]})
            state = self._state(label_id)
        printed = self._object(
            "/api/v2/me/shipment/print", {"mode": "public", "orders": [label_id]}
        )
        code = state.get("tracking") or state.get("melhorenvio_tracking") or label_id
        return Label(label_id, tracking_code=str(code), label_url=str(printed.get("url", "")))

    def _state(self, label_id: str) -> dict[str, Any]:
        answer = self._object("/api/v2/me/shipment/tracking", {"orders": [label_id]})
        state = answer.get(label_id) if isinstance(answer, dict) else None
        if not isinstance(state, dict):
            raise CarrierError(f"melhorenvio: no tracking for {label_id}")
        return state

    def track(self, label_id: str, order_ref: str) -> TrackingReport | None:
        state = self._state(label_id)
        step = STATUS_STEPS.get(str(state.get("status")))
        if step is None:
            return None
        at = _local_time(state.get(STEP_TIME[step]))
        return TrackingReport(label_id=label_id, order_ref=order_ref, step=step, at=at)

    def read_webhook(self, headers: Mapping[str, str], body: bytes) -> TrackingReport | None:
        given = headers.get("x-me-signature", "")
        expected = base64.b64encode(hmac.new(self._secret, body, hashlib.sha256).digest())
        if not hmac.compare_digest(given.encode(), expected):
            raise CarrierSignatureError("X-ME-Signature does not verify")
        try:
            payload = json.loads(body)
            event, data = payload["event"], payload["data"]
            label_id = str(data["id"])
            tags = [t.get("tag") for t in data.get("tags") or [] if isinstance(t, dict)]
        except (ValueError, KeyError, TypeError, AttributeError):
            raise UnreadableCarrierWebhookError("not a Melhor Envio webhook") from None
        step = STEPS.get(event) if isinstance(event, str) else None
        if step is None:
            return None
        at = _local_time(data.get(STEP_TIME[step]) or data.get("updated_at"))
        return TrackingReport(
            label_id=label_id, order_ref=str(tags[0] if tags else ""), step=step, at=at
        )
