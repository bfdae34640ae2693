"""Payments: the order's owner and admins can read them; providers notify us by webhook.

The webhook route takes no JWT: each provider authenticates with its own signature over the
raw body (Stripe-Signature, Mercado Pago's x-signature, PagBank's x-authenticity-token, the
sandbox's X-Sandbox-Signature). A bad or missing signature is 401 and changes nothing; a
repeated delivery answers as the first did. The raw body is handed to the application and
never logged or stored (it may carry the payer's name, e-mail or CPF).
"""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends, HTTPException, Path, Request
from fastapi.concurrency import run_in_threadpool

from api.http import owned_reads
from api.http.auth import Principal
from api.http.command_route import CommandRoute
from api.http.deps import (
    PaymentsDep,
    consistent_with,
    require,
    viewer_of,
)
from api.http.schemas import PaymentPublic, WebhookAccepted
from api.http.stored import StoredDep
from application.ports import GatewayError, InvalidWebhookError, MalformedWebhookError
from projections.orders import OrdersProjection

router = APIRouter(route_class=CommandRoute, prefix="/payments", tags=["payments"])
CustomerOrAdmin = Annotated[Principal, Depends(require("customer", "admin"))]
Provider = Annotated[str, Path(pattern=r"^[a-z]{2,20}$", description="sandbox, stripe, ...")]


@router.get("/{payment_id}", dependencies=[Depends(consistent_with(OrdersProjection.name))])
async def get_payment(
    payment_id: UUID, stored: StoredDep, principal: CustomerOrAdmin
) -> PaymentPublic:
    """A payment: amount, status, gateway, card brand and last four digits (never the card
    number).
    """
    doc = await owned_reads.payment(stored, payment_id, viewer_of(principal))
    return PaymentPublic.from_doc(doc)


@router.post("/webhooks/{gateway}", status_code=200)
async def receive_webhook(
    gateway: Provider,
    request: Request,
    payments: PaymentsDep,
) -> WebhookAccepted:
    """A payment provider's signed notification (Pix paid, boleto paid or expired). Verified by
    the provider's signature, recorded once.
    """
    body = await request.body()
    try:
        delivery = await run_in_threadpool(
            payments.receive_webhook,
            gateway,
            dict(request.headers),
            dict(request.query_params),
            body,
        )
    except InvalidWebhookError as error:
        raise HTTPException(401, f"webhook refused: {error}") from None
    except MalformedWebhookError as error:
        raise HTTPException(422, str(error)) from None
    except GatewayError as error:  # the provider must be asked about its notification
        raise HTTPException(503, f"try again: {error}", {"Retry-After": "30"}) from None
    return WebhookAccepted.model_validate(
        {
            "event_id": delivery.event_id,
            "outcome": delivery.outcome,
            "payment_id": delivery.payment_id,
        }
    )
