"""Orders: the list (filters, paging) and an order's page with its saga timeline; each
event of the log as raw JSON."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, HTTPException, Path, Query, Request
from fastapi.responses import JSONResponse, Response

from api.console.web import (
    ConsoleContainer,
    log_disclosure,
    pager,
    render,
    reveals_personal_data,
    role,
)
from api.http.auth import Principal
from application.audit import describe, holds_personal_data, mapped, trail
from domain.order import OrderStatus
from projections.orders import OrdersProjection, order_index, order_key
from projections.readers import STAFF, Viewer

router = APIRouter()
STATUSES: tuple[str, ...] = tuple(status.value for status in OrderStatus)
PAGE_SIZE = 20


def _bounds(since: date | None, until: date | None) -> tuple[float | str, float | str]:
    low: float | str = "-inf"
    high: float | str = "+inf"
    if since is not None:
        low = datetime.combine(since, time.min, UTC).timestamp()
    if until is not None:
        high = datetime.combine(until, time.max, UTC).timestamp()
    return low, high


def _day(value: str | None, name: str) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise HTTPException(422, f"{name} must be a day, e.g. 2026-12-01") from None


def orders_page(
    view: Any,
    customer_id: str | None,
    status: str | None,
    since: date | None,
    until: date | None,
    page: int,
    size: int,
) -> tuple[list[dict[str, Any]], int]:
    """A page of the orders index (newest first) between two days, and how many there are.
    The index is scored by the time of the order, so a date range is a score range."""
    key = view.key(order_index(customer_id, status))
    low, high = _bounds(since, until)
    ids = [
        m.decode()
        for m in view.client.zrevrangebyscore(key, high, low, start=(page - 1) * size, num=size)
    ]
    docs = [d for d in view.get_many([order_key(i) for i in ids]) if d is not None]
    return docs, int(view.client.zcount(key, low, high))


@router.get("/orders")
def list_orders(
    request: Request,
    container: ConsoleContainer,
    principal: Annotated[Principal, role("admin", "customer")],
    status: Annotated[str | None, Query(max_length=40)] = None,
    from_: Annotated[str | None, Query(alias="from", max_length=10)] = None,
    until_: Annotated[str | None, Query(alias="until", max_length=10)] = None,
    customer_id: Annotated[str | None, Query(max_length=200)] = None,
    page: Annotated[int, Query(ge=1, le=10_000)] = 1,
) -> Response:
    status = status or None  # a form's empty field is "any"
    customer_id = customer_id or None
    since, until = _day(from_, "from"), _day(until_, "until")
    if status is not None and status not in STATUSES:
        raise HTTPException(422, f"status must be one of {', '.join(STATUSES)}")
    if principal.role == "customer":
        if customer_id not in (None, principal.sub):
            raise HTTPException(403, "customers see only their own orders")
        customer_id = principal.sub
    view = container.view(OrdersProjection.name)
    docs, total = orders_page(view, customer_id, status, since, until, page, PAGE_SIZE)
    filters = {
        "status": status,
        "from": since.isoformat() if since else None,
        "until": until.isoformat() if until else None,
        "customer_id": customer_id if principal.role == "admin" else None,
    }
    return render(
        request,
        "orders.html",
        orders=docs,
        total=total,
        statuses=STATUSES,
        filters=filters,
        **pager(total, page, PAGE_SIZE, **filters),
    )


@router.get("/orders/{order_id}")
def show_order(
    request: Request,
    order_id: UUID,
    container: ConsoleContainer,
    principal: Annotated[Principal, role("admin", "customer", "auditor")],
) -> Response:
    """Admins see everything; a customer their own order without the log's internals; an
    auditor the saga timeline (as `audit trail`), not the read model."""
    doc = payment = None
    if principal.role != "auditor":
        # The API's reader and its rule: someone else's order is a 404.
        viewer = Viewer(principal.sub) if principal.role == "customer" else STAFF
        doc = container.readers.orders.get(order_id, viewer)
        if doc.get("payment_id"):
            payment = container.readers.orders.payment(doc["payment_id"], viewer)
    steps = None
    if principal.role in ("admin", "auditor"):
        services = container.services
        assert services.event_log is not None
        reveal = reveals_personal_data(principal)
        steps = trail(services.store.mapper, services.event_log, order_id, reveal=reveal)
        log_disclosure(principal, str(order_id))
    return render(request, "order.html", order_id=order_id, order=doc, payment=payment, steps=steps)


@router.get("/events/{position}.json")
def raw_event(
    position: Annotated[int, Path(ge=1, le=2**62)],
    container: ConsoleContainer,
    principal: Annotated[Principal, role("admin", "auditor")],
) -> Response:
    """One event of the log as auditors read it: position, metadata and data (personal
    data masked for auditors without `auditor:pii`, as in the API)."""
    services = container.services
    found = services.store.recorder.select_notifications(position, 1)
    if not found or found[0].id != position:
        raise HTTPException(404, f"no event at position {position}")
    event = mapped(services.store.mapper, found[0])
    reveal = reveals_personal_data(principal)
    if reveal and holds_personal_data(vars(event)):
        log_disclosure(principal, str(event.originator_id))
    return JSONResponse(describe(event, position, reveal=reveal))
