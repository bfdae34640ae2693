"""Money in the console (admins): open disputes with their evidence deadlines, soonest
first (the same list as `GET /api/v1/payments/disputes`; the alert
`EcoVarejoDisputeEvidenceDueSoon` fires two days before one is due), and reconciliation —
choose a provider and a period, fetch its report or upload its file, and see what matched,
what is missing on either side, the discrepancies, the fees and the totals to the centavo
(the same run as `ecovarejo finance reconcile`, infrastructure/reconciliation_run.py)."""

from __future__ import annotations

import hmac
from datetime import UTC, date, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from api.console.web import CSRF_COOKIE, CSRF_FIELD, ConsoleContainer, render, role
from api.http.auth import Principal
from api.http.text import text_problem
from infrastructure.bootstrap import Container
from infrastructure.reconciliation_run import (
    ReconciliationInputError,
    configured_providers,
    run_reconciliation,
)

router = APIRouter()
Admin = Annotated[Principal, role("admin")]
DUE_SOON = timedelta(days=2)  # as the alert EcoVarejoDisputeEvidenceDueSoon
MAX_REPORT_BYTES = 10 * 1024 * 1024  # a settlement report file (a month of a busy shop)
FORM_OVERHEAD = 64 * 1024


def _with_deadline(dispute: dict[str, Any], now: datetime) -> dict[str, Any]:
    due = dispute.get("evidence_due_by")
    left = datetime.fromisoformat(due) - now if due else None
    hours = None if left is None else int(left.total_seconds() // 3600)
    soon = left is not None and left < DUE_SOON
    return {
        **dispute,
        "hours_left": hours,
        "due_soon": soon,
        "overdue": bool(left and left < timedelta(0)),
    }


@router.get("/disputes")
async def disputes_page(request: Request, container: ConsoleContainer, _: Admin) -> Response:
    found = await run_in_threadpool(container.readers.orders.open_disputes)
    now = datetime.now(UTC)
    rows = [_with_deadline(d, now) for d in found]
    return render(
        request, "disputes.html", disputes=rows, due_soon=sum(r["due_soon"] for r in rows)
    )


def _form_page(
    request: Request, container: Container, status: int = 200, **context: Any
) -> Response:
    today = datetime.now(UTC).date()
    first = today.replace(day=1)
    defaults = {"provider": "", "start": first.isoformat(), "end": today.isoformat()}
    return render(
        request,
        "reconciliation.html",
        status,
        providers=configured_providers(container.services.payments.gateways),
        # the runs kept with "record" (GET /api/v1/analytics/finance): gross, fees, net
        recorded=container.readers.analytics.rows("finance", 24),
        chosen={**defaults, **context.pop("chosen", {})},
        **context,
    )


@router.get("/reconciliation")
def reconciliation_page(request: Request, container: ConsoleContainer, _: Admin) -> Response:
    return _form_page(request, container)


async def _fields(request: Request) -> tuple[dict[str, str], str | None]:
    """The form's fields and the uploaded report's text (None: fetch it), with this
    browser's CSRF token; a file over the limit is refused before it is read whole."""
    length = request.headers.get("content-length", "")
    if length.isdigit() and int(length) > MAX_REPORT_BYTES + FORM_OVERHEAD:
        raise ReconciliationInputError(f"the file is over {MAX_REPORT_BYTES:,} bytes: split it")
    if not request.headers.get("content-type", "").startswith("multipart/form-data"):
        raise HTTPException(415, "the reconciliation form is multipart/form-data")
    form = await request.form(max_files=1, max_fields=8, max_part_size=MAX_REPORT_BYTES + 1)
    cookie, given = request.cookies.get(CSRF_COOKIE, ""), str(form.get(CSRF_FIELD) or "")
    if not cookie or not hmac.compare_digest(cookie.encode(), given.encode()):
        raise HTTPException(
            403, "this form was not sent by this console (CSRF token missing or wrong)"
        )
    fields = {k: v for k, v in form.items() if isinstance(v, str) and k != CSRF_FIELD}
    for name, value in fields.items():
        problem = text_problem(name) or text_problem(value)
        if problem:
            raise ReconciliationInputError(f"{name[:40]}: {problem}")
    upload = form.get("file")
    if not isinstance(upload, UploadFile) or not upload.filename:
        return fields, None
    data = await upload.read(MAX_REPORT_BYTES + 1)
    if len(data) > MAX_REPORT_BYTES:
        raise ReconciliationInputError(f"the file is over {MAX_REPORT_BYTES:,} bytes: split it")
    try:
        return fields, data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ReconciliationInputError("the file is not UTF-8 text") from None


def _day(value: str, what: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise ReconciliationInputError(f"{what}: a date YYYY-MM-DD, got {value[:20]!r}") from None


@router.post("/reconciliation")
async def reconciliation_run(request: Request, container: ConsoleContainer, _: Admin) -> Response:
    chosen: dict[str, str] = {}
    try:
        fields, text = await _fields(request)
        chosen = {k: fields.get(k, "") for k in ("provider", "start", "end")}
        start, end = _day(chosen["start"], "from"), _day(chosen["end"], "to")
        report = await run_in_threadpool(
            run_reconciliation,
            container.services.store,
            container.services.payments.gateways,
            chosen["provider"],
            start,
            end,
            text,
            fields.get("record") == "yes",
        )
    except ReconciliationInputError as error:
        return await run_in_threadpool(
            _form_page, request, container, 422, chosen=chosen, refused=str(error)
        )
    found = report.to_dict()
    clean = not (
        found["missing_at_provider"] or found["missing_in_books"] or found["discrepancies"]
    )
    return await run_in_threadpool(
        _form_page, request, container, chosen=chosen, report=found, clean=clean
    )
