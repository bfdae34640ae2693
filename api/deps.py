"""Dependencies of the routes, as `Annotated` aliases."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Depends, Header, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from api.auth import AuthenticationError, Principal, Role, TokenVerifier
from application.shop import Shop
from domain.base import update_metadata
from infrastructure.bootstrap import Container

_bearer = HTTPBearer(auto_error=False, description="JWT from `ecovarejo token` or your IdP")


def get_container(request: Request) -> Container:
    container: Container = request.app.state.container
    return container


ContainerDep = Annotated[Container, Depends(get_container)]


def get_shop(container: ContainerDep) -> Shop:
    return container.shop


ShopDep = Annotated[Shop, Depends(get_shop)]


async def authenticate(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise HTTPException(401, "a bearer token is required", {"WWW-Authenticate": "Bearer"})
    verifier: TokenVerifier = request.app.state.verifier
    try:
        principal = verifier.verify(credentials.credentials)
    except AuthenticationError as e:
        raise HTTPException(401, str(e), {"WWW-Authenticate": "Bearer"}) from None
    # Every event this request causes is stamped with who asked.
    update_metadata(actor=principal.actor)
    return principal


def require(*roles: Role) -> Callable[..., Awaitable[Principal]]:
    async def check(principal: Annotated[Principal, Depends(authenticate)]) -> Principal:
        if principal.role not in roles:
            raise HTTPException(403, f"this needs the role {' or '.join(roles)}")
        return principal

    return check


AnyUser = Annotated[Principal, Depends(authenticate)]
Admin = Annotated[Principal, Depends(require("admin"))]
Customer = Annotated[Principal, Depends(require("customer"))]


def if_match(if_match: Annotated[str | None, Header()] = None) -> int | None:
    """`If-Match: "3"` (or W/"3", or 3): the version the client's change is based on."""
    if if_match is None:
        return None
    raw = if_match.strip().removeprefix("W/").strip('"')
    if not raw.isdigit():
        raise HTTPException(400, 'If-Match must be an aggregate version, e.g. "3"')
    return int(raw)


ExpectedVersion = Annotated[int | None, Depends(if_match)]


def consistent_with(projection: str) -> Callable[..., Awaitable[None]]:
    """Wait (up to the configured time) until `projection` has caught up with the
    X-Consistency-Token the client got from a command; else 503 with Retry-After."""

    async def wait(
        container: ContainerDep,
        x_consistency_token: Annotated[str | None, Header()] = None,
    ) -> None:
        if x_consistency_token is None:
            return
        if not x_consistency_token.isdigit() or len(x_consistency_token) > 18:
            raise HTTPException(400, "X-Consistency-Token must be a token from a command response")
        wanted = int(x_consistency_token)
        view = container.view(projection)
        deadline = time.monotonic() + container.settings.consistency_wait_s
        delay = 0.005
        while (view.max_tracking_id("") or 0) < wanted:
            if time.monotonic() >= deadline:
                raise HTTPException(
                    503,
                    f"the {projection} read model has not caught up yet",
                    {"Retry-After": "1"},
                )
            await asyncio.sleep(delay)
            delay = min(delay * 2, 0.1)

    return wait
