"""Returns: the owner of a shipped order asks — a withdrawal within 7 days of delivery, or a
defect return within 30 days of it; admins approve or reject, then receive the parcel, which
restocks and refunds (the shipping too, with a withdrawal of everything)."""

from __future__ import annotations

from typing import Annotated, Literal
from uuid import UUID

from fastapi import APIRouter, Depends, HTTPException, Response, status
from pydantic import Field, StringConstraints

from api.http.auth import Principal
from api.http.command_route import CommandRoute
from api.http.deps import (
    Admin,
    ContainerDep,
    Customer,
    ExpectedVersion,
    ReturnsDep,
    consistent_with,
    require,
)
from api.http.etag import set_etag
from api.http.schemas import CommandAccepted, MoneyModel, Schema, Sku, Words
from application.event_store import CommandResult
from domain.delivery import ReturnKind
from projections.orders import OrdersProjection, return_key
from projections.readers import with_words

router = APIRouter(route_class=CommandRoute, tags=["returns"])
CustomerOrAdmin = Annotated[Principal, Depends(require("customer", "admin"))]
Reason = Annotated[str, StringConstraints(max_length=500)]


class ReturnLineCreate(Schema):
    sku: Sku
    quantity: Annotated[int, Field(ge=1, le=999, strict=True)]


class ReturnCreate(Schema):
    lines: Annotated[list[ReturnLineCreate], Field(min_length=1, max_length=100)]
    reason: Reason = ""
    kind: ReturnKind = ReturnKind.WITHDRAWAL


class ReturnReject(Schema):
    reason: Reason = ""


class ReturnAccepted(CommandAccepted):
    return_id: UUID


class ReturnLinePublic(Schema):
    sku: str
    quantity: int
    refund: MoneyModel


class ReturnPublic(Schema):
    return_id: UUID
    order_id: UUID
    status: Literal["requested", "approved", "rejected", "received", "refunded"]
    lines: list[ReturnLinePublic]
    kind: ReturnKind = ReturnKind.WITHDRAWAL
    shipping_refund: MoneyModel | None = None
    refund: MoneyModel
    reason: Words
    rejection_reason: Words | None
    return_tracking_code: str | None = Field(
        default=None, description="the reverse-logistics label's, once bought (shop-paid)"
    )
    version: int


def _accepted(response: Response, result: CommandResult) -> ReturnAccepted:
    set_etag(response, result.version)
    return ReturnAccepted(
        return_id=result.aggregate_id,
        version=result.version,
        consistency_token=result.consistency_token,
    )


@router.post("/orders/{order_id}/returns", status_code=status.HTTP_202_ACCEPTED, tags=["orders"])
def request_return(
    order_id: UUID,
    body: ReturnCreate,
    returns: ReturnsDep,
    customer: Customer,
    response: Response,
    expected_version: ExpectedVersion,
) -> ReturnAccepted:
    """`kind`: `withdrawal` (CDC art. 49: 7 days from delivery, no reason needed, the
    shipping refunded with the last units) or `defect` (art. 26: 30 days from delivery).
    409: not shipped, outside the window (the answer says which and when it closed), more
    units than bought (or already being returned), or the order is not at the If-Match
    version; 404: not your order."""
    lines = [(line.sku, line.quantity) for line in body.lines]
    result = returns.request_return(
        order_id, customer.sub, lines, body.reason, expected_version, kind=body.kind
    )
    response.headers["Location"] = f"/api/v1/returns/{result.aggregate_id}"
    return _accepted(response, result)


@router.post("/returns/{return_id}/approve", status_code=status.HTTP_202_ACCEPTED)
def approve_return(
    return_id: UUID,
    returns: ReturnsDep,
    admin: Admin,
    response: Response,
    expected_version: ExpectedVersion,
) -> ReturnAccepted:
    """Approve a return request (admin); the refund follows when the goods are marked received."""
    return _accepted(response, returns.approve_return(return_id, expected_version))


@router.post("/returns/{return_id}/reject", status_code=status.HTTP_202_ACCEPTED)
def reject_return(
    return_id: UUID,
    returns: ReturnsDep,
    admin: Admin,
    response: Response,
    expected_version: ExpectedVersion,
    body: ReturnReject | None = None,
) -> ReturnAccepted:
    """Reject a return request (admin), optionally saying why; nothing is refunded."""
    reason = body.reason if body else ""
    return _accepted(response, returns.reject_return(return_id, reason, expected_version))


@router.post("/returns/{return_id}/receive", status_code=status.HTTP_202_ACCEPTED)
def receive_return(
    return_id: UUID,
    returns: ReturnsDep,
    admin: Admin,
    response: Response,
    expected_version: ExpectedVersion,
) -> ReturnAccepted:
    """Restocks the units and refunds their share through the gateway that captured."""
    return _accepted(response, returns.receive_return(return_id, expected_version))


@router.get("/returns/{return_id}", dependencies=[Depends(consistent_with(OrdersProjection.name))])
def get_return(
    return_id: UUID, container: ContainerDep, principal: CustomerOrAdmin, response: Response
) -> ReturnPublic:
    """A return: its lines, status and refund. Customers see only the returns of their own
    orders.
    """
    doc = container.view(OrdersProjection.name).get(return_key(return_id))
    if doc is None or (principal.role != "admin" and doc["customer_id"] != principal.sub):
        raise HTTPException(404, f"no return {return_id}")
    set_etag(response, doc["version"])
    return ReturnPublic.from_doc(with_words(doc, container.readers.words))
