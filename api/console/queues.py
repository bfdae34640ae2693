"""Work queues in the console: returns to decide or receive (approve, reject, receive),
payments flagged or awaiting the payer, payment notifications not applied, customers."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from api.console.actions import confirmed, done, guarded, text_field, version_field
from api.console.web import ConsoleContainer, Form, pager, render, role
from api.http.auth import Principal
from api.http.routers.lists import _with_profile
from infrastructure.bootstrap import Container
from projections.back_office import RETURN_STATUSES

router = APIRouter()
Admin = Annotated[Principal, role("admin")]
PAGE_SIZE = 25
ReturnStatus = Annotated[str, Query(pattern="^(" + "|".join(RETURN_STATUSES) + "|all)$")]


@router.get("/returns")
def returns_queue(
    request: Request,
    container: ConsoleContainer,
    _: Admin,
    status: ReturnStatus = "requested",
    page: Annotated[int, Query(ge=1, le=10_000)] = 1,
) -> Response:
    found = container.readers.back_office.returns(
        None if status == "all" else status, page, PAGE_SIZE
    )
    return render(
        request,
        "returns.html",
        returns=found.items,
        total=found.total,
        current_status=status,
        statuses=(*RETURN_STATUSES, "all"),
        done=request.query_params.get("done"),
        **pager(found.total, page, PAGE_SIZE, status=status),
    )


def _decide(
    request: Request,
    container: Container,
    return_id: UUID,
    fields: dict[str, str],
    act: Callable[[int], object],
    back_to: str,
) -> Response:
    """`act` at the form's version; back to the queue it came from (or a conflict page)."""
    form_version = version_field(fields)

    def current() -> int:
        return int(container.services.returns.return_of(return_id).version)

    conflict = guarded(request, form_version, current, lambda: act(form_version))
    return conflict or done("/returns", status=back_to)


@router.post("/returns/{return_id}/approve")
def approve_return(
    request: Request, return_id: UUID, fields: Form, container: ConsoleContainer, _: Admin
) -> Response:
    act = lambda v: container.services.returns.approve_return(return_id, v)  # noqa: E731
    return _decide(request, container, return_id, fields, act, "requested")


@router.post("/returns/{return_id}/reject")
def reject_return(
    request: Request, return_id: UUID, fields: Form, container: ConsoleContainer, _: Admin
) -> Response:
    confirmed(request, fields)
    reason = text_field(fields, "reason", required=False, most=500)
    act = lambda v: container.services.returns.reject_return(return_id, reason, v)  # noqa: E731
    return _decide(request, container, return_id, fields, act, "requested")


@router.post("/returns/{return_id}/receive")
def receive_return(
    request: Request, return_id: UUID, fields: Form, container: ConsoleContainer, _: Admin
) -> Response:
    act = lambda v: container.services.returns.receive_return(return_id, v)  # noqa: E731
    return _decide(request, container, return_id, fields, act, "approved")


@router.get("/payments")
def payments_queue(
    request: Request,
    container: ConsoleContainer,
    _: Admin,
    queue: Annotated[str, Query(pattern="^(flagged|awaiting)$")] = "flagged",
    page: Annotated[int, Query(ge=1, le=10_000)] = 1,
) -> Response:
    found = container.readers.back_office.payments(queue, page, PAGE_SIZE)
    return render(request, "payments.html", payments=found.items, total=found.total, queue=queue)


@router.get("/webhooks")
def webhooks_queue(
    request: Request,
    container: ConsoleContainer,
    _: Admin,
    page: Annotated[int, Query(ge=1, le=10_000)] = 1,
) -> Response:
    found = container.readers.back_office.webhooks(True, page, PAGE_SIZE)
    return render(request, "webhooks.html", deliveries=found.items, total=found.total)


@router.get("/customers")
def customers_list(
    request: Request,
    container: ConsoleContainer,
    _: Admin,
    page: Annotated[int, Query(ge=1, le=10_000)] = 1,
) -> Response:
    found = container.readers.back_office.customers(None, page, PAGE_SIZE)
    rows = [_with_profile(container.services, r) for r in found.items]
    return render(
        request,
        "customers.html",
        customers=rows,
        total=found.total,
        **pager(found.total, page, PAGE_SIZE),
    )
