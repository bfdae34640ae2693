"""Audit: verify the tamper-evidence chain (a job with progress), and any aggregate's
history at any instant, its replayed state beside its events."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, HTTPException, Path, Query, Request
from fastapi.responses import RedirectResponse, Response

from api.console.jobs import Jobs, Progress
from api.console.web import (
    PREFIX,
    ConsoleContainer,
    Form,
    log_disclosure,
    render,
    reveals_personal_data,
    role,
)
from api.http.auth import Principal
from application.audit import replay
from application.operations.chain import verify_chain
from infrastructure.store.event_log import EventLog

router = APIRouter()
Auditor = Annotated[Principal, role("auditor")]
# Who may watch a job: the roles that may start it.
JOB_ROLES = {"verify": ("auditor",), "rebuild": ("admin",), "import": ("admin",)}


@router.get("/audit")
def audit_home(request: Request, _: Auditor) -> Response:
    return render(request, "audit.html")


@router.post("/audit/verify")
def verify(_fields: Form, container: ConsoleContainer, principal: Auditor) -> Response:
    log = EventLog(container.database_url)

    def work(progress: Progress) -> dict[str, Any]:
        return verify_chain(log, progress).as_dict()

    job_id = Jobs(container.redis).start("verify", "audit chain", "auditor", work, principal.actor)
    return RedirectResponse(f"{PREFIX}/jobs/{job_id}", 303)


@router.get("/jobs/{job_id}")
def job_page(
    request: Request,
    job_id: Annotated[str, Path(pattern=r"^[0-9a-f]{32}$")],
    container: ConsoleContainer,
    principal: Annotated[Principal, role("admin", "auditor")],
) -> Response:
    job = Jobs(container.redis).get(job_id)
    if job is None or principal.role not in JOB_ROLES.get(job["kind"], ()):
        raise HTTPException(404, f"no job {job_id}")
    percent = round(100 * job["done"] / job["total"]) if job["total"] else 0
    return render(request, "job.html", job=job, percent=percent)


def _instant(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise HTTPException(422, f"as_of must be an ISO 8601 instant, got {value!r}") from None


@router.get("/audit/history")
def history(
    request: Request,
    container: ConsoleContainer,
    principal: Auditor,
    aggregate_id: UUID,
    as_of: Annotated[str | None, Query(max_length=40)] = None,
    version: Annotated[int | None, Query(ge=1, le=10**9)] = None,
) -> Response:
    if as_of and version is not None:
        raise HTTPException(422, "give as_of or version, not both")
    services = container.services
    assert services.event_log is not None
    reveal = reveals_personal_data(principal)
    full = replay(services.store.mapper, services.event_log, aggregate_id, reveal=False)
    result = replay(
        services.store.mapper,
        services.event_log,
        aggregate_id,
        as_of=_instant(as_of),
        version=version,
        reveal=reveal,
    )
    if reveal and result.personal:
        log_disclosure(principal, str(aggregate_id))
    return render(
        request,
        "history.html",
        aggregate_id=aggregate_id,
        events=result.events,
        state=json.dumps(result.state, ensure_ascii=False, indent=2, sort_keys=True),
        versions=[e["version"] for e in full.events],
        current=result.events[-1]["version"],
        as_of=as_of or "",
    )
