"""The sandbox as a card provider's own website: its browser SDK and its issuer's 3-D Secure
page, served only while the sandbox is the card provider outside production (404 anywhere
else, as for the tokenization endpoint).

So development and the storefront work as production does: the shop's page loads the
provider's script (`/sandbox-provider/v1/sandbox.js`, a static file: no inline script, fine
under a strict CSP), which posts the card to the provider's tokenization endpoint
(`POST /api/v1/payments/sandbox/tokens`), never to the shop, and the shop's form submits
only the token. A payment that needs 3-D Secure sends the shopper to the provider's
challenge page (`/sandbox-provider/challenge/{authorization_id}`: a plain HTML form, no
script at all), which answers the sandbox issuer and sends the shopper back to the shop.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache
from importlib.resources import files
from typing import Annotated, Any
from urllib.parse import parse_qs

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, PackageLoader, select_autoescape

from api.http.deps import (
    PaymentsDep,
    ServicesDep,
)
from api.http.text import text_problem
from application.card_tokens import card_gateway, provider_of
from application.ports import PaymentGateway
from application.services import Services

PREFIX = "/sandbox-provider"
# The challenge page: its own stylesheet, a form posting to itself, nothing else.
PAGE_CSP = (
    "default-src 'none'; style-src 'self'; form-action 'self'; "
    "frame-ancestors 'self'; base-uri 'none'"
)
STATIC = files("api.sandbox_provider") / "static"
pages = Environment(
    loader=PackageLoader("api.sandbox_provider", "templates"),
    autoescape=select_autoescape(default=True),
)
AuthorizationId = Annotated[str, Path(pattern=r"^[A-Za-z0-9_-]{1,120}$")]
ReturnTo = Annotated[str, Query(max_length=500)]


def sandbox_tokenizes(services: Services) -> bool:
    """The sandbox is the card provider, and this is not production."""
    gateway = card_gateway(services.payments.gateways)
    allowed = services.checkout.raw_cards_allowed
    return allowed and gateway is not None and provider_of(gateway) == "sandbox"


def sandbox_vault(services: ServicesDep) -> Any:
    """The sandbox vault, while it is the card provider outside production; else 404."""
    if not sandbox_tokenizes(services):
        raise HTTPException(404, "the sandbox is not the card provider here")
    return card_gateway(services.payments.gateways)


def sandbox_acquirer(gateways: Sequence[PaymentGateway], authorization_id: str) -> Any:
    """The sandbox acquirer whose challenge this is; 404 when there is none."""
    for gateway in gateways:
        known = getattr(gateway, "has_challenge", None)
        if known is not None and known(authorization_id):
            return gateway
    raise HTTPException(404, f"no sandbox challenge {authorization_id}")


def answer_challenge(
    gateways: Sequence[PaymentGateway], authorization_id: str, authenticated: bool
) -> None:
    """The shopper passes (or fails) the sandbox issuer's challenge; the first answer holds."""
    sandbox_acquirer(gateways, authorization_id).answer_challenge(authorization_id, authenticated)


def same_site(return_to: str) -> str:
    """Where to send the shopper back: a path on this site only (never another site)."""
    if not return_to.startswith("/") or return_to.startswith("//") or "\\" in return_to:
        return ""
    return "" if text_problem(return_to) else return_to


router = APIRouter(prefix=PREFIX, include_in_schema=False, dependencies=[Depends(sandbox_vault)])


@cache  # two small files that change only with a release: read once per process
def _static_bytes(name: str) -> bytes:
    return (STATIC / name).read_bytes()


def _static(name: str, media_type: str) -> Response:
    return Response(
        _static_bytes(name),
        media_type=media_type,
        headers={
            "Cache-Control": "public, max-age=300",
            # A provider's SDK is loaded by shop pages wherever they are served.
            "Cross-Origin-Resource-Policy": "cross-origin",
        },
    )


@router.get("/v1/sandbox.js")
def sandbox_js() -> Response:
    return _static("sandbox.js", "text/javascript; charset=utf-8")


@router.get("/v1/sandbox.css")
def sandbox_css() -> Response:
    return _static("sandbox.css", "text/css; charset=utf-8")


def _page(**values: Any) -> HTMLResponse:
    page = pages.get_template("challenge.html").render(**values)
    return HTMLResponse(page, headers={"Content-Security-Policy": PAGE_CSP})


@router.get("/challenge/{authorization_id}")
def challenge_page(
    authorization_id: AuthorizationId, payments: PaymentsDep, return_to: ReturnTo = ""
) -> HTMLResponse:
    """The sandbox issuer's 3-D Secure page (a payment's `redirect_url`)."""
    sandbox_acquirer(payments.gateways, authorization_id)
    return _page(authorization_id=authorization_id, return_to=same_site(return_to))


@router.post("/challenge/{authorization_id}")
async def challenge_answered(
    authorization_id: AuthorizationId, request: Request, payments: PaymentsDep
) -> Response:
    """The shopper's answer, then back to the shop (303), or a page saying how it went."""
    fields = await _form(request)
    return await run_in_threadpool(_answered, payments.gateways, authorization_id, fields)


def _answered(
    gateways: Sequence[PaymentGateway], authorization_id: str, fields: dict[str, str]
) -> Response:
    acquirer = sandbox_acquirer(gateways, authorization_id)
    acquirer.answer_challenge(authorization_id, fields.get("authenticated") == "true")
    back = same_site(fields.get("return_to", ""))
    if back:
        return RedirectResponse(back, 303)
    held = acquirer.authentication_result(authorization_id).approved  # the first answer holds
    decided = "authenticated" if held else "failed"
    return _page(authorization_id=authorization_id, decided=decided, return_to="")


async def _form(request: Request) -> dict[str, str]:
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind != "application/x-www-form-urlencoded":
        raise HTTPException(415, "the challenge page posts a form")
    try:
        parsed = parse_qs((await request.body()).decode("utf-8"), max_num_fields=5, errors="strict")
    except (UnicodeDecodeError, ValueError):
        raise HTTPException(422, "the form is not valid") from None
    if parsed.get("authenticated", [""])[0] not in ("true", "false"):
        raise HTTPException(422, "authenticated must be true or false")
    return {name: values[0] for name, values in parsed.items()}
