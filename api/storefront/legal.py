"""The legal pages a Brazilian shop needs (privacy policy with the DPO's contact, the
exchange and returns policy citing CDC art. 49) and the cookie choice (LGPD): only
essential cookies are ever set before it, and a signed-in shopper's choice is recorded
as the API records consents."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from starlette.concurrency import run_in_threadpool

from api.storefront.web import (
    PREFIX,
    ShopContainer,
    language,
    link,
    pending,
    read_form,
    redirect,
    render,
    render_public,
    shopper,
)
from application.customers import CONSENT_TEXT_VERSION

router = APIRouter()
CONSENT_COOKIE = "ev_shop_consent"
LEGAL_MAX_AGE_S = 3600


@router.get("/privacidade")
async def privacy(request: Request, container: ShopContainer) -> Response:
    return render_public(
        request,
        "privacy.html",
        LEGAL_MAX_AGE_S,
        LEGAL_MAX_AGE_S,
        dpo=container.settings.dpo_contact,
        consent_version=CONSENT_TEXT_VERSION,
    )


@router.get("/trocas-e-devolucoes")
async def returns_policy(request: Request) -> Response:
    return render_public(request, "returns_policy.html", LEGAL_MAX_AGE_S, LEGAL_MAX_AGE_S)


@router.get("/cookies")
async def cookies_page(request: Request) -> Response:
    return render(
        request,
        "cookies.html",
        choice=request.cookies.get(CONSENT_COOKIE, ""),
        notice=request.query_params.get("aviso", "")[:40],
    )


@router.post("/cookies")
async def choose_cookies(request: Request, container: ShopContainer) -> Response:
    """The notice's buttons. The cookie holding the answer is itself essential (it keeps
    the notice from asking again); the consent is recorded for a signed-in shopper."""
    raw = await read_form(request, token_required=False)  # the notice is on cached pages too
    granted = raw.get("analytics") == "accept"
    pending(request).set[CONSENT_COOKIE] = ("analytics" if granted else "essential", 365 * 86400)
    principal = await shopper(request)
    if principal is not None:
        await run_in_threadpool(
            container.services.customers.set_consent,
            principal.sub,
            "analytics",
            granted,
            CONSENT_TEXT_VERSION,
        )
    return redirect(request, link(f"{PREFIX}/cookies", language(request), aviso="salvo"))
