"""LGPD (admins): a data subject's export and erasure, through the same application calls
as `/customers/{id}/personal-data`. The register of requests with their deadlines comes
with the customer profiles work (issue 15); until then the page says so."""

from __future__ import annotations

import json
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import Response

from api.auth import Principal
from api.console.web import ConsoleContainer, Form, render, role

router = APIRouter()
Admin = Annotated[Principal, role("admin")]
CustomerId = Annotated[str, Query(min_length=1, max_length=200)]


@router.get("/lgpd")
def lgpd_home(request: Request, _: Admin) -> Response:
    return render(request, "lgpd.html")


@router.get("/lgpd/export")
def export(
    request: Request, customer_id: CustomerId, container: ConsoleContainer, principal: Admin
) -> Response:
    """Everything held about the subject; the request is recorded as an event."""
    document = container.shop.export_personal_data(customer_id, principal.actor)
    text = json.dumps(document, ensure_ascii=False, indent=2, default=str)
    return render(request, "lgpd.html", customer_id=customer_id, export=text)


@router.post("/lgpd/erase")
def erase(
    request: Request, fields: Form, container: ConsoleContainer, principal: Admin
) -> Response:
    customer_id = fields.get("customer_id", "").strip()
    if not 1 <= len(customer_id) <= 200:
        raise HTTPException(422, "customer_id must be 1 to 200 characters")
    if fields.get("confirm") != "yes":
        raise HTTPException(422, "tick the confirmation: an erasure cannot be undone")
    erasure = container.shop.erase_personal_data(customer_id, principal.actor)
    return render(request, "lgpd.html", customer_id=customer_id, erasure=erasure.message)
