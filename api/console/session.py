"""Signing in and out (a pasted JWT, or a dev login on the embedded default), the home
page and the stylesheet."""

from __future__ import annotations

import ipaddress
from importlib import resources
from typing import get_args

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import RedirectResponse, Response

from api.auth import ROLES, AuthenticationError, Role, TokenVerifier, issue_token
from api.console.dashboard import back_office_home
from api.console.web import (
    PREFIX,
    SESSION_COOKIE,
    ConsoleContainer,
    Form,
    render,
    secure,
    signed_in,
)
from infrastructure.bootstrap import Container, jwt_secret

router = APIRouter()
DEV_TOKEN_TTL_S = 8 * 3600
# Which pages each role may open (the same roles as the API's routes).
PAGES: dict[str, tuple[str, ...]] = {
    "admin": ("orders", "read_side", "analytics", "lgpd"),
    "auditor": ("audit", "lgpd"),
    "customer": ("orders",),
}
PAGE_PATHS = {
    "orders": "/orders",
    "audit": "/audit",
    "read_side": "/read-side",
    "analytics": "/analytics",
    "lgpd": "/lgpd",
}


def dev_login_allowed(request: Request, container: Container) -> bool:
    """Only on the embedded default (no configured servers) with the shared secret, and only
    for a browser on this machine: `serve --host 0.0.0.0` must not hand admin to the LAN."""
    verifier: TokenVerifier = request.app.state.verifier
    embedded = bool(container.settings.embedded) and not verifier.uses_jwks
    return embedded and _is_loopback(request.client.host if request.client else None)


def _is_loopback(host: str | None) -> bool:
    try:
        return host is not None and ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _next(value: str | None) -> str:
    """Only a console path (never another site: no open redirect)."""
    if value and value.startswith(PREFIX) and not value.startswith("//") and "\\" not in value:
        return value
    return PREFIX


def _session(request: Request, token: str, to: str) -> Response:
    response = RedirectResponse(_next(to), 303)
    response.set_cookie(
        SESSION_COOKIE,
        token,
        httponly=True,
        samesite="strict",
        secure=secure(request),
        path=PREFIX,
    )
    return response


@router.get("")
async def home(request: Request, container: ConsoleContainer) -> Response:
    principal = await signed_in(request)
    if principal is None:
        return RedirectResponse(f"{PREFIX}/login", 303)
    pages = [(page, PREFIX + PAGE_PATHS[page]) for page in PAGES[principal.role]]
    office = back_office_home(container, principal) if principal.role == "admin" else {}
    return render(request, "home.html", pages=pages, **office)


@router.get("/login")
async def login_page(request: Request, container: ConsoleContainer, next: str = "") -> Response:
    return render(
        request,
        "login.html",
        next=_next(next),
        dev_login=dev_login_allowed(request, container),
        roles=ROLES,
    )


@router.post("/login")
async def login(request: Request, fields: Form, container: ConsoleContainer) -> Response:
    verifier: TokenVerifier = request.app.state.verifier
    token = fields.get("token", "").strip()
    try:
        await verifier.verify_async(token)
    except AuthenticationError as error:
        return render(
            request,
            "login.html",
            401,
            next=_next(fields.get("next")),
            dev_login=dev_login_allowed(request, container),
            roles=ROLES,
            login_error=str(error),
        )
    return _session(request, token, fields.get("next", ""))


@router.post("/dev-login")
async def dev_login(request: Request, fields: Form, container: ConsoleContainer) -> Response:
    if not dev_login_allowed(request, container):
        raise HTTPException(404, "dev login exists only on the embedded default")
    role = fields.get("role", "")
    if role not in get_args(Role):
        raise HTTPException(422, f"role must be one of {', '.join(ROLES)}")
    token = issue_token(jwt_secret(container.settings), f"dev-{role}", role, DEV_TOKEN_TTL_S)  # type: ignore[arg-type]
    return _session(request, token, fields.get("next", ""))


@router.post("/logout")
async def logout(request: Request, _: Form) -> Response:
    response = RedirectResponse(f"{PREFIX}/login", 303)
    response.delete_cookie(SESSION_COOKIE, path=PREFIX)
    return response


STYLESHEET = resources.files("api.console").joinpath("static/console.css").read_bytes()


@router.get("/static/console.css")
def stylesheet() -> Response:
    return Response(
        STYLESHEET,
        media_type="text/css",
        headers={"Cache-Control": "public, max-age=3600"},
    )
