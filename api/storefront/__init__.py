"""The storefront at `/loja`: server-rendered pages a shopper buys from (pt-BR first,
English with `?lang=en`), working without JavaScript and enhanced by a vendored htmx. A
set of routers over the same application services and read models as the API — no
middleware of its own: its caching, CSP, cookies and errors are set by its pages
(`web.finish`), so the API's lean edge stays as it was (docs/storefront.md)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, cast

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import RedirectResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from api.storefront import account, cart, catalog, checkout, legal, orders, pwa, session
from api.storefront.messages import problem_text
from api.storefront.web import PREFIX, SignInFirst, language, link, redirect, render
from domain.base import DomainError

ROUTERS = [
    catalog.router,
    cart.router,
    session.router,
    checkout.router,
    orders.router,
    account.router,
    legal.router,
    pwa.router,
]
Handler = Callable[[Request, Any], Awaitable[Response]]


def is_storefront(request: Request) -> bool:
    path = request.url.path
    return path == PREFIX or path.startswith(PREFIX + "/")


def _status(error: Exception, lang: str) -> tuple[int, str]:
    if isinstance(error, StarletteHTTPException):
        return error.status_code, str(error.detail)
    if isinstance(error, RequestValidationError):
        return 422, "the address of this page is not valid"
    if isinstance(error, DomainError):
        from api.http.errors import domain_status

        return domain_status(error)[0], problem_text(error, lang)
    return 500, "an unexpected error occurred; it has been logged"


def install_storefront(app: FastAPI) -> None:
    """Mount the shop, and show its errors as pages (the API keeps problem+json)."""
    for router in ROUTERS:
        app.include_router(router, prefix=PREFIX, include_in_schema=False)
    app.include_router(session.root)

    async def sign_in_first(request: Request, error: SignInFirst) -> Response:
        return redirect(request, link(f"{PREFIX}/entrar", "pt", next=error.path))

    app.add_exception_handler(SignInFirst, sign_in_first)  # type: ignore[arg-type]
    for kind in (StarletteHTTPException, RequestValidationError, DomainError, Exception):
        previous = cast(Handler, app.exception_handlers[kind])
        app.add_exception_handler(kind, _either(previous))
    if not any(getattr(r, "path", None) == "/" for r in app.router.routes):
        app.add_api_route("/", lambda: RedirectResponse(PREFIX, 307), include_in_schema=False)


def _either(previous: Handler) -> Handler:
    async def handle(request: Request, error: Any) -> Response:
        if not is_storefront(request):
            return await previous(request, error)
        status, detail = _status(error, language(request))
        if status >= 500:
            await previous(request, error)  # logged as the API logs it
        return render(request, "error.html", status, code=status, detail=detail)

    return handle
