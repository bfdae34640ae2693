"""Orders: customers see and cancel their own; admins see all, cancel and ship."""

from __future__ import annotations

from datetime import UTC
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends, HTTPException, Query, Response, status

from api.http import owned_reads
from api.http.auth import Principal
from api.http.command_route import CommandRoute
from api.http.deps import (
    Admin,
    CheckoutDep,
    ContainerDep,
    Customer,
    ExpectedVersion,
    OrdersDep,
    ReadersDep,
    consistent_with,
    query,
    require,
    viewer_of,
)
from api.http.etag import set_etag
from api.http.payment_input import payment_choice
from api.http.schemas import (
    OrderCancel,
    OrderCommandResult,
    OrderPage,
    OrderPaymentCreate,
    OrderPublic,
    OrderShip,
    OrderSummary,
    OrderTrack,
    OrderTrackResult,
    PaymentRetryAccepted,
)
from api.http.stored import StoredDep
from application.event_store import CommandResult
from domain.base import now
from domain.order import OrderStatus
from projections.orders import OrdersProjection

router = APIRouter(route_class=CommandRoute, prefix="/orders", tags=["orders"])
CustomerOrAdmin = Annotated[Principal, Depends(require("customer", "admin"))]


def _answer(response: Response, result: CommandResult) -> OrderCommandResult:
    set_etag(response, result.version)
    return OrderCommandResult(
        order_id=result.aggregate_id,
        version=result.version,
        consistency_token=result.consistency_token,
    )


def _own(principal: Principal) -> str | None:
    """The customer id to restrict to: the caller's own, or None for an admin."""
    return None if principal.role == "admin" else principal.sub


@router.get("", dependencies=[Depends(consistent_with(OrdersProjection.name))])
async def list_orders(
    readers: ReadersDep,
    principal: CustomerOrAdmin,
    status_: Annotated[OrderStatus | None, Query(alias="status")] = None,
    page: Annotated[int, Query(ge=1, le=10_000)] = 1,
    size: Annotated[int, Query(ge=1, le=100)] = 20,
    customer_id: Annotated[str | None, Query(min_length=1, max_length=200)] = None,
) -> OrderPage:
    """Newest first. Customers see their own orders; admins all, or one customer's."""
    if principal.role == "customer" and customer_id not in (None, principal.sub):
        raise HTTPException(403, "customers see only their own orders")
    viewer = viewer_of(principal)
    found = await query(
        lambda: readers.orders.page(
            viewer, customer_id=customer_id, status=status_, page=page, size=size
        )
    )
    return OrderPage(
        items=[OrderSummary.from_doc(d) for d in found.items],
        total=found.total,
        page=found.page,
        size=found.size,
    )


MAX_WAIT_S = 10  # the longest a read of an order may be held for its decision


@router.get("/{order_id}", dependencies=[Depends(consistent_with(OrdersProjection.name))])
async def get_order(
    order_id: UUID,
    stored: StoredDep,
    container: ContainerDep,
    principal: CustomerOrAdmin,
    response: Response,
    wait: Annotated[
        float,
        Query(
            ge=0,
            le=MAX_WAIT_S,
            description=(
                "Seconds (at most 10) to hold the answer while the order is `pending` (the "
                "checkout has not decided it yet): answered as soon as it is decided, or as "
                "it is when the wait runs out (still `pending`: ask again). In place of "
                "polling after a checkout; 0 (the default) answers at once."
            ),
        ),
    ] = 0,
) -> OrderPublic:
    """An order: lines, totals, status, cancellation reason, payment and carbon footprint.
    Customers see only their own. After a checkout, send its consistency token and `wait`
    to be answered once the order is decided (confirmed, awaiting payment or
    authentication, or cancelled) instead of polling.
    """
    viewer = viewer_of(principal)
    doc = await owned_reads.order(stored, order_id, viewer, container.readers.words, wait)
    set_etag(response, doc["version"])
    return OrderPublic.from_doc(doc)


@router.post("/{order_id}/cancel", status_code=status.HTTP_202_ACCEPTED)
def cancel_order(
    order_id: UUID,
    body: OrderCancel,
    orders: OrdersDep,
    principal: CustomerOrAdmin,
    response: Response,
    expected_version: ExpectedVersion,
) -> OrderCommandResult:
    """Cancel and compensate: reservations are released, the payment voided or refunded."""
    result = orders.cancel_order(order_id, _own(principal), body.reason, expected_version)
    return _answer(response, result)


@router.post(
    "/{order_id}/payment",
    status_code=status.HTTP_202_ACCEPTED,
    responses={
        409: {"description": "a payment is under way, or the deadline passed"},
        422: {"description": "invalid card, installments or CPF, as at checkout"},
    },
)
def retry_payment(
    order_id: UUID,
    body: OrderPaymentCreate,
    checkout: CheckoutDep,
    customer: Customer,
    response: Response,
    expected_version: ExpectedVersion,
) -> PaymentRetryAccepted:
    """Another try at paying an order whose payment was declined or expired (it waits,
    `awaiting_payment` with its stock held, until `payment_retry.retry_until`): a new card,
    Pix or boleto, taken as at checkout. Poll the order (with the consistency token)."""
    result, payment_id = checkout.retry_payment(
        order_id, customer.sub, payment_choice(body.payment), expected_version
    )
    set_etag(response, result.version)
    return PaymentRetryAccepted(
        order_id=order_id,
        payment_id=payment_id,
        version=result.version,
        consistency_token=result.consistency_token,
    )


@router.post("/{order_id}/ship", status_code=status.HTTP_202_ACCEPTED)
def ship_order(
    order_id: UUID,
    body: OrderShip,
    orders: OrdersDep,
    _: Admin,
    response: Response,
    expected_version: ExpectedVersion,
) -> OrderCommandResult:
    """Ship a confirmed order: its reservations leave stock and the payment is captured."""
    result = orders.ship_order(order_id, body.carrier, body.tracking_code, expected_version)
    return _answer(response, result)


@router.post("/{order_id}/tracking", status_code=status.HTTP_200_OK)
def track_order(
    order_id: UUID, body: OrderTrack, orders: OrdersDep, _: Admin, response: Response
) -> OrderTrackResult:
    """A step of the parcel (in transit, out for delivery, delivered, delivery failed,
    returned to sender) as the carrier reported it; `delivered` starts the withdrawal and
    defect windows. A report older than the newest, a repeat or one after a final step is
    answered `applied: false` and changes nothing; 409 for an order not shipped."""
    at = body.at or now()
    result = orders.track_order(order_id, body.step.value, at.astimezone(UTC))
    if result is None:
        return OrderTrackResult(order_id=order_id, applied=False)
    set_etag(response, result.version)
    return OrderTrackResult(
        order_id=order_id,
        applied=True,
        version=result.version,
        consistency_token=result.consistency_token,
    )
