"""The read side: every follower of the log (position, lag, owner, runner), its parked
events with a retry, and rebuilds with progress."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Path, Request
from fastapi.responses import RedirectResponse, Response

from api.console.jobs import Jobs, Progress
from api.console.web import PREFIX, ConsoleContainer, Form, query_string, render, role
from api.http.auth import Principal
from application.operations.read_side import rebuild, retry_parked, status
from infrastructure.bootstrap import REBUILDABLE, REDIS_PROJECTIONS
from infrastructure.read_stores.projection_admin import runner_status
from infrastructure.runtime.followers import runner_of

router = APIRouter()
Admin = Annotated[Principal, role("admin")]
Name = Annotated[str, Path(pattern=r"^[a-z_]{1,40}$")]


def _owner(container: Any, follower: Any) -> str:
    owner = getattr(follower, "owner", None)  # a lease holder, where followers have one
    runner = runner_of(follower.name)  # runners publish under the registry's runner name
    return str(owner or runner_status(container.redis, runner).get("host") or "-")


@router.get("/read-side")
def read_side(
    request: Request,
    container: ConsoleContainer,
    _: Admin,
    retried: int | None = None,
    ok: bool | None = None,
    error: str | None = None,
) -> Response:
    followers = [(f, _owner(container, f)) for f in status(container.read_side)]
    return render(
        request,
        "read_side.html",
        followers=followers,
        rebuildable=set(REBUILDABLE),
        retryable=set(REDIS_PROJECTIONS),
        retried=retried,
        ok=ok,
        retry_error=error,
    )


@router.post("/read-side/{name}/parked/{position}/retry")
def retry(
    name: Name,
    position: Annotated[int, Path(ge=1, le=2**62)],
    _fields: Form,
    container: ConsoleContainer,
    _: Admin,
) -> Response:
    outcome = retry_parked(container.read_side, name, position)
    notice = query_string(retried=position, ok=str(outcome.ok).lower(), error=outcome.error)
    return RedirectResponse(f"{PREFIX}/read-side?{notice}", 303)


@router.post("/read-side/{name}/rebuild")
def start_rebuild(
    name: Name, _fields: Form, container: ConsoleContainer, principal: Admin
) -> Response:
    if name not in REBUILDABLE:
        raise HTTPException(404, f"no projection {name!r} to rebuild")

    def work(progress: Progress) -> dict[str, Any]:
        return rebuild(container.read_side, [name], progress)[0].as_dict()

    job_id = Jobs(container.redis).start("rebuild", name, "admin", work, principal.actor)
    return RedirectResponse(f"{PREFIX}/jobs/{job_id}", 303)
