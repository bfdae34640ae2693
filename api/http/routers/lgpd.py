"""The LGPD request log: admins see the subject, auditors a pseudonym."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends

from api.http.auth import Principal
from api.http.command_route import CommandRoute
from api.http.deps import (
    DataSubjectsDep,
    require,
)
from api.http.schemas_customers import LgpdRequestList, LgpdRequestPublic

router = APIRouter(
    route_class=CommandRoute, prefix="/lgpd", tags=["customers and data subjects (LGPD)"]
)
AdminOrAuditor = Annotated[Principal, Depends(require("admin", "auditor"))]


@router.get("/requests")
def list_requests(data_subjects: DataSubjectsDep, principal: AdminOrAuditor) -> LgpdRequestList:
    """Every data-subject request, oldest first: received, completed, the 15-day deadline
    and the time it took."""
    items = data_subjects.lgpd_requests(pseudonymous=principal.role != "admin")
    return LgpdRequestList(items=[LgpdRequestPublic(**i) for i in items])
