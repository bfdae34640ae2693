"""LGPD: the register of data-subject requests with their 15-day deadlines (admins see the
subject, auditors a pseudonym, as `GET /lgpd/requests`), and for admins a subject's export
and erasure, through the same application calls as `/customers/{id}/personal-data`."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import Response

from api.console.web import ConsoleContainer, Form, render, role
from api.http.auth import Principal
from application.services import Services
from domain.base import now as clock_now

router = APIRouter()
Admin = Annotated[Principal, role("admin")]
CustomerId = Annotated[str, Query(min_length=1, max_length=200)]
NEAR_DEADLINE = timedelta(days=3)


def _requests(services: Services, principal: Principal) -> list[dict[str, Any]]:
    """The register (as `GET /lgpd/requests`), newest first, each with how urgent it is."""
    now = clock_now()
    found = []
    for item in services.data_subjects.lgpd_requests(pseudonymous=principal.role != "admin"):
        deadline = datetime.fromisoformat(item["deadline"])
        urgency = (
            "done"
            if item["completed_at"]
            else "overdue"
            if deadline < now
            else "near"
            if deadline - now < NEAR_DEADLINE
            else "open"
        )
        found.append({**item, "urgency": urgency})
    return found[::-1]


def _page(request: Request, container: Any, principal: Principal, **extra: Any) -> Response:
    requests = _requests(container.services, principal)
    return render(request, "lgpd.html", requests=requests, **extra)


@router.get("/lgpd")
def lgpd_home(
    request: Request,
    container: ConsoleContainer,
    principal: Annotated[Principal, role("admin", "auditor")],
) -> Response:
    return _page(request, container, principal)


@router.get("/lgpd/export")
def export(
    request: Request, customer_id: CustomerId, container: ConsoleContainer, principal: Admin
) -> Response:
    """Everything held about the subject; the request is recorded as an event."""
    document = container.services.data_subjects.export_personal_data(customer_id, principal.actor)
    text = json.dumps(document, ensure_ascii=False, indent=2, default=str)
    return _page(request, container, principal, customer_id=customer_id, export=text)


@router.post("/lgpd/erase")
def erase(
    request: Request, fields: Form, container: ConsoleContainer, principal: Admin
) -> Response:
    customer_id = fields.get("customer_id", "").strip()
    if not 1 <= len(customer_id) <= 200:
        raise HTTPException(422, "customer_id must be 1 to 200 characters")
    if fields.get("confirm") != "yes":
        raise HTTPException(422, "tick the confirmation: an erasure cannot be undone")
    erasure = container.services.data_subjects.erase_personal_data(customer_id, principal.actor)
    return _page(request, container, principal, customer_id=customer_id, erasure=erasure.message)
