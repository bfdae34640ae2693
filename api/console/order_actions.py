"""An order's daily actions in the console: ship it (carrier and tracking code) and cancel
it (with a confirmation), at the version the page showed."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Request
from fastapi.responses import Response

from api.console.actions import confirmed, done, guarded, text_field, version_field
from api.console.web import ConsoleContainer, Form, role
from api.http.auth import Principal

router = APIRouter()
Admin = Annotated[Principal, role("admin")]


@router.post("/orders/{order_id}/ship")
def ship(
    request: Request, order_id: UUID, fields: Form, container: ConsoleContainer, _: Admin
) -> Response:
    carrier = text_field(fields, "carrier", most=100)
    tracking = text_field(fields, "tracking_code", most=100)
    form_version = version_field(fields)
    conflict = guarded(
        request,
        form_version,
        lambda: int(container.services.orders.order_of(order_id).version),
        lambda: container.services.orders.ship_order(order_id, carrier, tracking, form_version),
    )
    return conflict or done(f"/orders/{order_id}")


@router.post("/orders/{order_id}/cancel")
def cancel(
    request: Request, order_id: UUID, fields: Form, container: ConsoleContainer, _: Admin
) -> Response:
    confirmed(request, fields)
    detail = text_field(fields, "reason", required=False, most=500)
    form_version = version_field(fields)
    conflict = guarded(
        request,
        form_version,
        lambda: int(container.services.orders.order_of(order_id).version),
        lambda: container.services.orders.cancel_order(order_id, None, detail, form_version),
    )
    return conflict or done(f"/orders/{order_id}")
