"""Carriers: an admin buys a label for a confirmed order (which ships it); the carrier's
signed webhooks report the parcel's steps (no JWT: the signature is the authentication)."""

from __future__ import annotations

from typing import Annotated, Literal
from uuid import UUID

from fastapi import APIRouter, HTTPException, Path, Request, Response, status
from pydantic import StringConstraints
from starlette.concurrency import run_in_threadpool

from api.http.command_route import CommandRoute
from api.http.deps import (
    Admin,
    ExpectedVersion,
    LabelsDep,
)
from api.http.etag import set_etag
from api.http.openapi import problem
from api.http.schemas import OrderCommandResult, Schema
from application.carriers import CarrierSignatureError, UnreadableCarrierWebhookError
from application.errors import CarrierRefusedError

router = APIRouter(route_class=CommandRoute, tags=["shipping"])
CarrierName = Annotated[str, Path(pattern=r"^[a-z]{2,20}$")]


class LabelCreate(Schema):
    service_id: Annotated[str, StringConstraints(pattern=r"^[0-9]{1,10}$")]  # its quote's `id`


class ReturnLabelCreate(Schema):
    # Reverse logistics goes by the Correios' PAC (1) or SEDEX (2).
    service_id: Literal["1", "2"] = "1"


class ReturnLabelPublic(Schema):
    """The link is the label to print (it holds the addresses): given here once, for the
    shopper, and never stored; the carrier hands it out again by label id."""

    return_id: UUID
    label_id: str
    tracking_code: str
    label_url: str
    version: int
    consistency_token: str


class CarrierWebhookAccepted(Schema):
    outcome: Literal["applied", "ignored", "unknown_label"]
    order_id: UUID | None = None


@router.post("/orders/{order_id}/label", status_code=status.HTTP_202_ACCEPTED, tags=["orders"])
def buy_label(
    order_id: UUID,
    body: LabelCreate,
    labels: LabelsDep,
    _: Admin,
    response: Response,
    expected_version: ExpectedVersion,
) -> OrderCommandResult:
    """Buy the configured carrier's label (`service_id` from its quote) and ship the order
    with the label's tracking code. 409: not confirmed, no carrier configured, or the
    carrier refused (its reason); 503: the carrier did not answer (nothing bought)."""
    result = labels.ship_with_label(order_id, body.service_id, expected_version)
    set_etag(response, result.version)
    return OrderCommandResult(
        order_id=result.aggregate_id,
        version=result.version,
        consistency_token=result.consistency_token,
    )


@router.post("/returns/{return_id}/label", status_code=status.HTTP_201_CREATED, tags=["returns"])
def buy_return_label(
    return_id: UUID,
    body: ReturnLabelCreate,
    labels: LabelsDep,
    _: Admin,
    response: Response,
    expected_version: ExpectedVersion,
) -> ReturnLabelPublic:
    """A reverse-logistics label, paid by the shop, for an approved return of an order
    shipped with the carrier's label. 409: not approved, labelled already, the order not
    shipped with a label, the shopper's e-mail or phone unknown, or the carrier refused;
    503: the carrier did not answer (asked again later, never bought twice)."""
    result, label = labels.buy_return_label(return_id, body.service_id, expected_version)
    set_etag(response, result.version)
    return ReturnLabelPublic(
        return_id=return_id,
        label_id=label.label_id,
        tracking_code=label.tracking_code,
        label_url=label.label_url,
        version=result.version,
        consistency_token=result.consistency_token,
    )


@router.post(
    "/shipping/webhooks/{carrier}",
    status_code=200,
    responses={401: problem("the signature does not verify, or no such carrier is configured")},
)
async def receive_carrier_webhook(
    carrier: CarrierName,
    request: Request,
    labels: LabelsDep,
) -> CarrierWebhookAccepted:
    """A carrier's signed report on a parcel: 401 if the signature does not verify, 422 if
    signed but unreadable; 401 too for a carrier that is not the configured one (no secret of
    ours can verify it). A report for a label we do not know, an older one or a repeat is
    answered and changes nothing."""
    if labels.carrier is None or labels.carrier.name != carrier:
        raise HTTPException(401, f"webhook refused: no carrier {carrier!r} is configured")
    body = await request.body()
    try:
        outcome, result = await run_in_threadpool(
            labels.apply_carrier_webhook, dict(request.headers), body
        )
    except CarrierSignatureError as error:
        raise HTTPException(401, f"webhook refused: {error}") from None
    except (UnreadableCarrierWebhookError, CarrierRefusedError) as error:
        raise HTTPException(422, str(error)) from None
    order_id = None if result is None else UUID(str(result.aggregate_id))
    return CarrierWebhookAccepted.model_validate({"outcome": outcome, "order_id": order_id})
