"""Signing in and out (e-mail, password and, for staff, an authenticator code; a pasted
JWT or a dev login only on the embedded default), setting a password from an invitation,
the home page and the stylesheet."""

from __future__ import annotations

import ipaddress
from importlib import resources
from typing import get_args

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from api.console.dashboard import back_office_home
from api.console.hosts import is_own_host
from api.console.i18n import MESSAGES
from api.console.web import (
    PREFIX,
    SESSION_COOKIE,
    ConsoleContainer,
    Form,
    language,
    render,
    secure,
    signed_in,
)
from api.http.auth import ROLES, AuthenticationError, Role, TokenVerifier, issue_token
from infrastructure.bootstrap import Container
from infrastructure.configuration import jwt_secret

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
    for a browser on this machine naming it by one of its own names: `serve --host 0.0.0.0`
    must not hand admin to the LAN, nor a rebound page to another site."""
    verifier: TokenVerifier = request.app.state.verifier
    embedded = bool(container.settings.embedded) and not verifier.uses_jwks
    peer = request.client.host if request.client else None
    # A loopback peer is not enough: a page of another site rebound to 127.0.0.1 (DNS
    # rebinding) comes from one too, naming its own site in Host.
    return embedded and _is_loopback(peer) and is_own_host(request, container.settings)


def paste_login_allowed(container: Container) -> bool:
    """A pasted JWT (from `ecovarejo token`, HS256): development only, never production."""
    return not container.settings.production


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
    office = (  # reads Redis and the log: off the event loop
        await run_in_threadpool(back_office_home, container, principal)
        if principal.role == "admin"
        else {}
    )
    return render(request, "home.html", pages=pages, **office)


@router.get("/login")
async def login_page(request: Request, container: ConsoleContainer, next: str = "") -> Response:
    return render(
        request,
        "login.html",
        next=_next(next),
        dev_login=dev_login_allowed(request, container),
        paste_login=paste_login_allowed(container),
        roles=ROLES,
    )


def _login_refused(
    request: Request, container: Container, message: str, status: int = 401
) -> Response:
    return render(
        request,
        "login.html",
        status,
        next=_next(request.query_params.get("next")),
        dev_login=dev_login_allowed(request, container),
        paste_login=paste_login_allowed(container),
        roles=ROLES,
        login_error=message,
    )


@router.post("/login")
async def login(request: Request, fields: Form, container: ConsoleContainer) -> Response:
    if "email" in fields:
        return await _password_login(request, fields, container)
    if not paste_login_allowed(container):
        return _login_refused(request, container, "sign in with your e-mail and password")
    verifier: TokenVerifier = request.app.state.verifier
    token = fields.get("token", "").strip()
    try:
        await verifier.verify_async(token)
    except AuthenticationError as error:
        return _login_refused(request, container, str(error))
    return _session(request, token, fields.get("next", ""))


async def _password_login(
    request: Request, fields: dict[str, str], container: Container
) -> Response:
    from application.signin import SignIn, ThrottledError
    from domain.base import DomainError
    from infrastructure.accounts_wiring import account_system

    system = account_system(container)
    address = request.client.host if request.client else "unknown"
    attempt = SignIn(
        fields.get("email", "")[:254],
        fields.get("password", "")[:256],
        address,
        fields.get("code", "")[:20],
    )
    try:
        pair = await run_in_threadpool(system.signin.sign_in, attempt)
    except ThrottledError as error:
        return _login_refused(request, container, str(error), 429)
    except DomainError:
        words = MESSAGES[language(request)]
        return _login_refused(request, container, words["bad_credentials"])
    return _session(request, pair.access_token, fields.get("next", ""))


@router.get("/set-password")
async def set_password_page(request: Request, token: str = "") -> Response:
    return render(request, "set_password.html", token=token[:600], error="")


@router.post("/set-password")
async def set_password(request: Request, fields: Form, container: ConsoleContainer) -> Response:
    """An invitation's (or a reset's) one-time link: the password, then staff see their
    TOTP secret and recovery codes once."""
    from domain.base import DomainError
    from infrastructure.accounts_wiring import account_system

    system = account_system(container)
    token = fields.get("token", "")[:600]
    try:
        enrolment = await run_in_threadpool(
            system.accounts.confirm_reset, token, fields.get("password", "")
        )
    except DomainError as error:
        return render(request, "set_password.html", 422, token=token, error=str(error))
    return render(request, "set_password.html", enrolment=enrolment, done=True)


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
async def logout(request: Request, _: Form, container: ConsoleContainer) -> Response:
    principal = await signed_in(request)
    if principal is not None and principal.jti:  # our own token: revoke it and its family
        from infrastructure.accounts_wiring import account_system

        signin = account_system(container).signin
        await run_in_threadpool(
            signin.logout,
            principal.sub,
            principal.family,
            principal.jti,
            principal.expires_at,
            request.client.host if request.client else "",
        )
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
