"""The order page after paying: the Pix QR code (drawn here as SVG) and its copy-and-paste
code, the boleto's digitable line and a printable page, 3-D Secure in the sandbox, the
status moving on by itself (htmx polls a small fragment; without JavaScript a
`<noscript>` refresh does), tracking, and a return or withdrawal request."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import segno
from fastapi import APIRouter, HTTPException, Request, Response
from starlette.concurrency import run_in_threadpool

from api.http import owned_reads
from api.http.deps import wait_for_read_model
from api.sandbox_provider import answer_challenge
from api.storefront.i18n import WORDS
from api.storefront.messages import problem_text
from api.storefront.web import (
    PREFIX,
    Fields,
    Form,
    ShopContainer,
    Shopper,
    digits_only,
    language,
    link,
    redirect,
    render,
)
from application.errors import OrderNotFoundError
from domain.base import DomainError
from infrastructure.bootstrap import Container
from projections.orders import OrdersProjection
from projections.readers import Viewer

router = APIRouter()
WAITING = ("pending", "awaiting_payment", "awaiting_authentication")
RETURNABLE = ("shipped", "delivered", "partially_returned")


def pix_svg(copy_paste: str, title: str) -> str:
    """The Pix payload as an SVG QR code (no inline style: the CSP forbids it)."""
    qr = segno.make(copy_paste, error="m")
    svg = str(qr.svg_inline(scale=4, border=2, title=title, svgclass="pix-qr", lineclass=None))
    return svg.replace("<svg ", '<svg role="img" ', 1)


async def _order(
    request: Request, container: Container, order_id: UUID, sub: str, token: str | None = None
) -> dict[str, Any] | None:
    if token and digits_only(token) and len(token) < 19:
        try:
            await wait_for_read_model(container, OrdersProjection.name, token)
        except HTTPException:
            return None  # not there yet: the page says so and looks again
    try:
        return await owned_reads.order(
            request.app.state.stored, order_id, Viewer(sub), container.readers.words
        )
    except OrderNotFoundError:
        return None


@router.get("/pedidos/{order_id}")
async def order_page(
    request: Request, order_id: UUID, principal: Shopper, container: ShopContainer
) -> Response:
    token = request.query_params.get("t")
    doc = await _order(request, container, order_id, principal.sub, token)
    if doc is None and not token:
        raise HTTPException(404, "no such order")
    words = WORDS[language(request)]
    pix = (doc or {}).get("payment") or {}
    qr = ""
    if doc and doc["status"] == "awaiting_payment" and pix.get("pix"):
        qr = pix_svg(pix["pix"]["copy_paste"], words["qr_alt"])
    return render(
        request,
        "order.html",
        order=doc,
        order_id=order_id,
        qr=qr,
        waiting=doc is None or doc["status"] in WAITING,
        returnable=bool(doc and doc["status"] in RETURNABLE),
        notice=request.query_params.get("aviso", "")[:40],
    )


@router.get("/pedidos/{order_id}/situacao")
async def order_status(
    request: Request, order_id: UUID, principal: Shopper, container: ShopContainer
) -> Response:
    """htmx asks every few seconds: 204 while nothing changed, else `HX-Refresh` (the whole
    page again, with the Pix code gone and the confirmation shown)."""
    doc = await _order(request, container, order_id, principal.sub)
    seen = request.query_params.get("status", "")
    current = doc["status"] if doc else ""
    if current == seen:
        return Response(status_code=204, headers={"Cache-Control": "private, no-store"})
    return Response(
        status_code=200, headers={"HX-Refresh": "true", "Cache-Control": "private, no-store"}
    )


@router.get("/pedidos/{order_id}/boleto")
async def boleto_page(
    request: Request, order_id: UUID, principal: Shopper, container: ShopContainer
) -> Response:
    doc = await _order(request, container, order_id, principal.sub)
    payment = (doc or {}).get("payment") or {}
    if not doc or not payment.get("boleto"):
        raise HTTPException(404, "no boleto for this order")
    return render(request, "boleto.html", order=doc, boleto=payment["boleto"])


@router.post("/pedidos/{order_id}/autenticar")
async def authenticate(
    request: Request, order_id: UUID, raw: Form, principal: Shopper, container: ShopContainer
) -> Response:
    """The sandbox issuer's 3-D Secure challenge, answered by the shopper, then the provider
    asked where the payment stands (never the browser believed)."""
    doc = await _order(request, container, order_id, principal.sub)
    payment = (doc or {}).get("payment") or {}
    auth = payment.get("authentication") or {}
    if not doc or not auth:
        raise HTTPException(404, "nothing to authenticate")
    passed = raw.get("authenticated") == "true"
    services = container.services

    def answer() -> None:
        # The challenge URL is asked of the provider, never kept in the order's read model.
        payment_id = UUID(payment["payment_id"])
        _, action = services.payments.authentication_action(payment_id, principal.sub)
        redirect_url = action.redirect_url if action else ""
        authorization_id = redirect_url.rstrip("/").rpartition("/")[2]
        answer_challenge(services.payments.gateways, authorization_id, passed)
        services.payments.confirm_authentication(payment_id, principal.sub, "")

    try:
        await run_in_threadpool(answer)
    except DomainError as error:  # the provider must be asked again: say so, keep the page
        problem = problem_text(error, language(request))
        return redirect(
            request, link(f"{PREFIX}/pedidos/{order_id}", language(request), aviso=problem[:40])
        )
    return redirect(request, link(f"{PREFIX}/pedidos/{order_id}", language(request)))


@router.post("/pedidos/{order_id}/devolucao")
async def request_return(
    request: Request, order_id: UUID, raw: Form, principal: Shopper, container: ShopContainer
) -> Response:
    lang = language(request)
    words = WORDS[lang]
    fields = Fields(raw, words)
    reason = fields.text("reason", 500)
    kind = raw.get("kind", "withdrawal")
    kind = kind if kind in ("withdrawal", "defect") else "withdrawal"
    doc = await _order(request, container, order_id, principal.sub)
    if doc is None:
        raise HTTPException(404, "no such order")
    lines: list[tuple[str, int]] = []
    for line in doc.get("lines", []):
        wanted = raw.get(f"qty_{line['sku']}", "0")
        if not digits_only(wanted) or int(wanted) > int(line["quantity"]):
            fields.fail(f"qty_{line['sku']}", words["err_quantity"])
        elif int(wanted) > 0:
            lines.append((line["sku"], int(wanted)))
    if not lines and fields.ok:
        fields.fail("lines", words["err_quantity"])
    problem = ""
    if fields.ok:
        try:
            await run_in_threadpool(
                container.services.returns.request_return,
                order_id,
                principal.sub,
                lines,
                reason,
                None,
                kind,
            )
            return redirect(request, link(f"{PREFIX}/pedidos/{order_id}", lang, aviso="devolucao"))
        except DomainError as error:
            problem = problem_text(error, lang)
    return render(
        request,
        "order.html",
        422 if not problem else 409,
        order=doc,
        order_id=order_id,
        qr="",
        waiting=False,
        returnable=True,
        errors=fields.errors,
        values=fields.values,
        problem=problem,
    )
