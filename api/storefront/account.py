"""The shopper's own pages: orders, returns, addresses, consents, "download my data" and
"delete my account" (LGPD art. 18), all `private, no-store`, behind the session."""

from __future__ import annotations

import orjson
from fastapi import APIRouter, Request, Response
from starlette.concurrency import run_in_threadpool

from api.storefront.i18n import WORDS
from api.storefront.messages import problem_text
from api.storefront.web import (
    PREFIX,
    Fields,
    Form,
    ShopContainer,
    Shopper,
    address_from,
    end_session,
    language,
    link,
    redirect,
    render,
)
from application.customers import CONSENT_TEXT_VERSION
from domain.base import DomainError
from domain.card import BRAZILIAN_STATES
from domain.customer import PURPOSES
from projections.readers import Viewer

router = APIRouter()
ERASE_WORD = "EXCLUIR"


async def account_page(
    request: Request,
    principal: Shopper,
    container: ShopContainer,
    status: int = 200,
    fields: Fields | None = None,
    problem: str = "",
) -> Response:
    services = container.services
    viewer = Viewer(principal.sub)
    orders = await run_in_threadpool(
        lambda: container.readers.orders.page(
            viewer, customer_id=None, status=None, page=1, size=20
        )
    )
    addresses = await run_in_threadpool(services.customers.addresses_of, principal.sub)
    consents = await run_in_threadpool(services.customers.consents_of, principal.sub)
    return render(
        request,
        "account.html",
        status,
        orders=orders.items,
        addresses=addresses,
        consents=consents,
        purposes=PURPOSES,
        states=sorted(BRAZILIAN_STATES),
        errors=fields.errors if fields else {},
        values=fields.values if fields else {},
        problem=problem,
        notice=request.query_params.get("aviso", "")[:40],
    )


@router.get("/conta")
async def account(request: Request, principal: Shopper, container: ShopContainer) -> Response:
    return await account_page(request, principal, container)


@router.post("/conta/enderecos")
async def add_address(
    request: Request, raw: Form, principal: Shopper, container: ShopContainer
) -> Response:
    fields = Fields(raw, WORDS[language(request)])
    address = address_from(fields, language(request))
    if address is None:
        return await account_page(request, principal, container, 422, fields)
    try:
        await run_in_threadpool(container.services.customers.add_address, principal.sub, address)
    except DomainError as error:
        problem = problem_text(error, language(request))
        return await account_page(request, principal, container, 409, fields, problem)
    return redirect(request, link(f"{PREFIX}/conta", language(request), aviso="salvo"))


@router.post("/conta/enderecos/excluir")
async def remove_address(
    request: Request, raw: Form, principal: Shopper, container: ShopContainer
) -> Response:
    address_id = raw.get("address_id", "")[:80]
    try:
        await run_in_threadpool(
            container.services.customers.remove_address, principal.sub, address_id
        )
    except DomainError as error:
        problem = problem_text(error, language(request))
        return await account_page(request, principal, container, 404, None, problem)
    return redirect(request, link(f"{PREFIX}/conta", language(request), aviso="salvo"))


@router.post("/conta/consentimentos")
async def consents(
    request: Request, raw: Form, principal: Shopper, container: ShopContainer
) -> Response:
    """Each purpose as the API records it (`PUT /customers/me/consents/{purpose}`), with
    the version of the texts this page shows."""
    services = container.services

    def save() -> None:
        for purpose in PURPOSES:
            services.customers.set_consent(
                principal.sub, purpose, raw.get(purpose) == "on", CONSENT_TEXT_VERSION
            )

    await run_in_threadpool(save)
    return redirect(request, link(f"{PREFIX}/conta", language(request), aviso="salvo"))


@router.get("/conta/meus-dados")
async def download_my_data(
    request: Request, principal: Shopper, container: ShopContainer
) -> Response:
    """Everything held about the shopper, as the API's export (the request is recorded)."""
    document = await run_in_threadpool(
        container.services.data_subjects.export_personal_data, principal.sub, principal.actor
    )
    body = orjson.dumps(document, option=orjson.OPT_INDENT_2)
    return Response(
        body,
        media_type="application/json",
        headers={
            "Content-Disposition": 'attachment; filename="meus-dados-ecovarejo.json"',
            "Cache-Control": "private, no-store",
        },
    )


@router.post("/conta/excluir")
async def delete_account(
    request: Request, raw: Form, principal: Shopper, container: ShopContainer
) -> Response:
    words = WORDS[language(request)]
    fields = Fields(raw, words)
    typed = fields.text("confirm", 20)
    if fields.ok and typed.upper() != ERASE_WORD:
        fields.fail("confirm", words["delete_confirm"])
    if not fields.ok:
        return await account_page(request, principal, container, 422, fields)
    await run_in_threadpool(
        container.services.data_subjects.erase_personal_data, principal.sub, principal.actor
    )
    end_session(request)
    return render(request, "deleted.html")
