"""Auditors read any aggregate's events, with positions and metadata."""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Depends

from api.auth import Principal
from api.deps import ShopDep, require
from api.schemas import AuditEvent
from application.audit import replay

router = APIRouter(prefix="/audit", tags=["audit"])
Auditor = Annotated[Principal, Depends(require("auditor"))]


@router.get("/aggregates/{aggregate_id}/events")
def aggregate_events(aggregate_id: UUID, shop: ShopDep, _: Auditor) -> list[AuditEvent]:
    """Every event of the aggregate, oldest first, as stored (personal data decrypted, or
    shown as erased)."""
    assert shop.event_log is not None
    events: list[dict[str, Any]] = replay(shop.mapper, shop.event_log, aggregate_id).events
    return [AuditEvent(**{k: v for k, v in e.items() if k != "aggregate_id"}) for e in events]
