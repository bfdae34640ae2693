"""Signing in, registering (on the way to checkout too), confirming the e-mail, choosing a
new password and signing out. The account's tokens ride in HttpOnly cookies: the access
token (15 minutes) and the refresh token, which rotates when it is used (docs/accounts.md)."""

from __future__ import annotations

import re

from fastapi import APIRouter, Request, Response
from starlette.concurrency import run_in_threadpool

from api.storefront.basket import basket_of
from api.storefront.i18n import WORDS
from api.storefront.messages import problem_text
from api.storefront.web import (
    PREFIX,
    Fields,
    Form,
    ShopContainer,
    end_session,
    keep_session,
    language,
    link,
    redirect,
    render,
    shopper,
)
from domain.base import DomainError

router = APIRouter()
root = APIRouter()  # the links of account mails: ECOVAREJO_PUBLIC_URL/verify-email, /reset-password
_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]{1,190}\.[^@\s]{2,}$")


def _next(value: str | None) -> str:
    """Only a storefront path (no open redirect)."""
    if value and value.startswith(PREFIX) and not value.startswith("//") and "\\" not in value:
        return value[:300]
    return PREFIX + "/conta"


def _sign_in_page(request: Request, status: int = 200, **context: object) -> Response:
    return render(
        request,
        "signin.html",
        status,
        next=_next(request.query_params.get("next") or str(context.pop("next", "") or "")),
        **context,
    )


@router.get("/entrar")
async def sign_in_page(request: Request) -> Response:
    return _sign_in_page(request, notice=request.query_params.get("aviso", "")[:40])


def _email(fields: Fields) -> str:
    email = fields.text("email", 254)
    if email and not _EMAIL.match(email):
        fields.fail("email", fields.words["err_email"])
    return email


@router.post("/entrar")
async def sign_in(request: Request, raw: Form, container: ShopContainer) -> Response:
    from application.signin import EmailNotVerifiedError, SignIn, ThrottledError
    from infrastructure.accounts_wiring import account_system

    words = WORDS[language(request)]
    fields = Fields(raw, words)
    email = _email(fields)
    password = fields.text("password", 256, strip=False)
    fields.values.pop("password", None)  # never echoed back
    target = _next(raw.get("next"))
    if not fields.ok:
        return _sign_in_page(request, 422, errors=fields.errors, values=fields.values, next=target)
    system = account_system(container)
    address = request.client.host if request.client else "unknown"
    try:
        pair = await run_in_threadpool(system.signin.sign_in, SignIn(email, password, address))
    except ThrottledError:
        message = words["throttled"]
        return _sign_in_page(request, 429, signin_error=message, values=fields.values, next=target)
    except EmailNotVerifiedError:
        message = words["not_verified"]
        return _sign_in_page(request, 403, signin_error=message, values=fields.values, next=target)
    except DomainError:
        message = words["bad_credentials"]
        return _sign_in_page(request, 401, signin_error=message, values=fields.values, next=target)
    keep_session(
        request, pair.access_token, pair.refresh_token, container.settings.refresh_token_ttl_s
    )
    return redirect(request, target)


@router.post("/cadastro")
async def register(request: Request, raw: Form, container: ShopContainer) -> Response:
    from infrastructure.accounts_wiring import account_system

    words = WORDS[language(request)]
    fields = Fields(raw, words)
    email = _email(fields)
    password = fields.text("password", 256, strip=False)
    fields.values.pop("password", None)
    target = _next(raw.get("next"))
    if fields.ok and len(password) < container.settings.password_min_length:
        fields.fail("password", problem_text(_weak(), language(request)))
    if not fields.ok:
        return _sign_in_page(
            request, 422, register_errors=fields.errors, register_values=fields.values, next=target
        )
    system = account_system(container)
    try:
        await run_in_threadpool(system.accounts.register, email, password)
    except DomainError as error:
        fields.fail("password", problem_text(error, language(request)))
        return _sign_in_page(
            request, 422, register_errors=fields.errors, register_values=fields.values, next=target
        )
    return _sign_in_page(request, registered=True, values={"email": email}, next=target)


def _weak() -> DomainError:
    from domain.account import InvalidPasswordError

    return InvalidPasswordError("weak password")


@router.get("/confirmar-email")
async def verify_page(request: Request) -> Response:
    """The mail's link opens this page; the button confirms (a GET changes nothing, so a
    mail scanner following the link does not use it up)."""
    return render(request, "verify.html", token=request.query_params.get("token", "")[:600])


@router.post("/confirmar-email")
async def verify(request: Request, raw: Form, container: ShopContainer) -> Response:
    from infrastructure.accounts_wiring import account_system

    token = raw.get("token", "")[:600].strip()
    try:
        await run_in_threadpool(account_system(container).accounts.verify_email, token)
    except DomainError as error:
        return render(request, "verify.html", 422, token=token, error=str(error))
    lang = language(request)
    # A shopper with a basket registered on the way to checkout: carry on there.
    onward = f"{PREFIX}/checkout" if basket_of(request).lines else None
    return redirect(request, link(f"{PREFIX}/entrar", lang, aviso="verificado", next=onward))


@router.get("/senha")
async def reset_page(request: Request) -> Response:
    return render(request, "reset.html", token=request.query_params.get("token", "")[:600])


@router.post("/senha")
async def reset(request: Request, raw: Form, container: ShopContainer) -> Response:
    """Without a token: mail a link (the same answer whatever the address). With one: the
    new password."""
    from infrastructure.accounts_wiring import account_system

    words = WORDS[language(request)]
    system = account_system(container)
    fields = Fields(raw, words)
    token = raw.get("token", "")[:600].strip()
    if not token:
        email = _email(fields)
        if not fields.ok:
            return render(request, "reset.html", 422, errors=fields.errors, values=fields.values)
        address = request.client.host if request.client else "unknown"
        await run_in_threadpool(system.accounts.request_reset, email, address)
        return render(request, "reset.html", sent=True)
    password = fields.text("password", 256, strip=False)
    if not fields.ok:
        return render(request, "reset.html", 422, token=token, errors=fields.errors)
    try:
        await run_in_threadpool(system.accounts.confirm_reset, token, password)
    except DomainError as error:
        fields.fail("password", problem_text(error, language(request)))
        return render(request, "reset.html", 422, token=token, errors=fields.errors)
    return redirect(request, link(f"{PREFIX}/entrar", language(request), aviso="senha"))


@router.post("/sair")
async def sign_out(request: Request, _: Form, container: ShopContainer) -> Response:
    principal = await shopper(request)
    if principal is not None and principal.jti:
        from infrastructure.accounts_wiring import account_system

        await run_in_threadpool(
            account_system(container).signin.logout,
            principal.sub,
            principal.family,
            principal.jti,
            principal.expires_at,
            request.client.host if request.client else "",
        )
    end_session(request)
    return redirect(request, PREFIX)


@root.get("/verify-email", include_in_schema=False)
async def mail_verify_link(request: Request) -> Response:
    token = request.query_params.get("token", "")[:600]
    return redirect(request, link(f"{PREFIX}/confirmar-email", "pt", token=token))


@root.get("/reset-password", include_in_schema=False)
async def mail_reset_link(request: Request) -> Response:
    token = request.query_params.get("token", "")[:600]
    return redirect(request, link(f"{PREFIX}/senha", "pt", token=token))
