"""Money per provider and period (admins): what reconciliations found the providers settled."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from api.http.command_route import CommandRoute
from api.http.deps import Admin, ReadersDep
from api.http.schemas import AnalyticsRows

router = APIRouter(route_class=CommandRoute, prefix="/analytics", tags=["analytics"])


@router.get("/finance")
def finance(
    readers: ReadersDep, _: Admin, limit: Annotated[int, Query(ge=1, le=1000)] = 100
) -> AnalyticsRows:
    """Per provider and period, newest first: gross captures, refunds, chargebacks, the
    provider's fees and the net settled (BRL), with how many lines matched and how many
    are unresolved; recorded by `ecovarejo finance reconcile --record`."""
    return AnalyticsRows(rows=readers.analytics.rows("finance", limit))
