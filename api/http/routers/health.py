"""Liveness and readiness."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from api.http.deps import ContainerDep, IsOperator
from application.operations.read_side import status

router = APIRouter(tags=["operations"])


@router.get("/health")
async def health() -> dict[str, str]:
    """Liveness: the process is up and serving (no dependency is checked; see /ready)."""
    return {"status": "ok"}


@router.get("/ready", responses={503: {"description": "a dependency or a follower is down"}})
def ready(container: ContainerDep, operator: IsOperator) -> JSONResponse:
    """The event store and Redis answer, and every follower of the log (projections, saga,
    effects) has a running runner somewhere (this process or a worker). The checks (lags,
    errors) are shown to operators only (admins, the metrics token, the operations listener);
    anyone else gets the status."""
    checks: dict[str, Any] = {}
    try:
        checks["event_store"] = {"ok": True, "head": container.head_position()}
    except Exception as e:
        checks["event_store"] = {"ok": False, "error": type(e).__name__}
    try:
        checks["redis"] = {"ok": bool(container.redis.ping())}
    except Exception as e:
        checks["redis"] = {"ok": False, "error": type(e).__name__}
    if all(check["ok"] for check in checks.values()):
        for follower in status(container.read_side):
            checks[f"projection:{follower.name}"] = {
                "ok": follower.state == "running",
                "state": follower.state,
                "lag": follower.lag,
                "parked": len(follower.parked),
                "last_error": follower.last_error,
            }
    ok = all(check["ok"] for check in checks.values())
    body: dict[str, Any] = {"status": "ready" if ok else "not ready"}
    if operator:
        body["checks"] = checks
    return JSONResponse(body, status_code=200 if ok else 503)
