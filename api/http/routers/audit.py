"""Auditors read any aggregate's events, with positions and metadata. Personal fields are
masked unless the auditor's token holds the `auditor:pii` scope; every such disclosure is
logged as an access (logger `ecovarejo.disclosure`: which auditor, which aggregate, the
correlation id)."""

from __future__ import annotations

import logging
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Depends

from api.http.auth import PII_SCOPE, Principal
from api.http.command_route import CommandRoute
from api.http.deps import (
    EventLogDep,
    StoreDep,
    require,
)
from api.http.schemas import AuditEvent
from application.audit import replay
from domain.base import current_metadata

router = APIRouter(route_class=CommandRoute, prefix="/audit", tags=["audit"])
Auditor = Annotated[Principal, Depends(require("auditor"))]
disclosures = logging.getLogger("ecovarejo.disclosure")


@router.get("/aggregates/{aggregate_id}/events")
def aggregate_events(
    aggregate_id: UUID, event_log: EventLogDep, store: StoreDep, auditor: Auditor
) -> list[AuditEvent]:
    """Every event of the aggregate, oldest first, as stored. Personal data shows which
    fields are held, masked (`"***"`, `"masked": true`), or `{"erased": true}`; with the
    `auditor:pii` scope it is decrypted, and the access is logged."""
    assert event_log is not None
    reveal = PII_SCOPE in auditor.scopes
    found = replay(store.mapper, event_log, aggregate_id, reveal=reveal)
    if reveal and found.personal:
        disclosures.warning(
            "personal data disclosed",
            extra={
                "access": "personal_data",
                "actor": auditor.actor,
                "scope": PII_SCOPE,
                "aggregate_id": str(aggregate_id),
                "correlation_id": current_metadata().correlation_id,
            },
        )
    events: list[dict[str, Any]] = found.events
    return [AuditEvent(**{k: v for k, v in e.items() if k != "aggregate_id"}) for e in events]
