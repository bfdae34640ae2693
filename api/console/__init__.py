"""The operations console at `/console`: server-rendered HTML pages over the same
application services and read models as the API (one router per page group)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, cast

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import RedirectResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from api.console import (
    analytics,
    audit,
    catalog,
    finance,
    lgpd,
    order_actions,
    orders,
    products,
    promotions,
    queues,
    read_side,
    reviews,
    session,
)
from api.console.hosts import own_host
from api.console.web import PREFIX, SignInRequired, query_string, render
from api.http.errors import domain_status
from domain.base import DomainError

ROUTERS = [
    session.router,
    orders.router,
    audit.router,
    read_side.router,
    analytics.router,
    lgpd.router,
    # the back office (issue 26)
    products.router,
    catalog.router,
    queues.router,
    promotions.router,
    order_actions.router,
    finance.router,  # disputes and reconciliation (issue 29)
    reviews.router,  # reviews moderation (issue 28)
]
Handler = Callable[[Request, Any], Awaitable[Response]]


def is_console(request: Request) -> bool:
    path = request.url.path
    return path == PREFIX or path.startswith(PREFIX + "/")


def error_page(request: Request, status: int, detail: str, **extra: Any) -> Response:
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else {}
    page = render(request, "error.html", status, code=status, detail=detail, **extra)
    page.headers.update(headers)
    return page


def _console_status(error: Exception) -> tuple[int, str, list[str]]:
    if isinstance(error, StarletteHTTPException):
        return error.status_code, str(error.detail), []
    if isinstance(error, RequestValidationError):
        problems = [
            f"{'.'.join(str(p) for p in e.get('loc', ()))}: {e.get('msg', '')}"
            for e in error.errors()
        ]
        return 422, "the request is not valid", problems
    if isinstance(error, DomainError):
        return domain_status(error)[0], str(error), []
    return 500, "an unexpected error occurred; it has been logged", []


def install_console(app: FastAPI) -> None:
    """Mount the console's routers, and render its errors as pages (the API's own handlers
    still answer problem+json everywhere else)."""
    for router in ROUTERS:  # each page answers only the console's own host names
        app.include_router(
            router, prefix=PREFIX, include_in_schema=False, dependencies=[Depends(own_host)]
        )

    async def sign_in_first(request: Request, error: SignInRequired) -> Response:
        return RedirectResponse(f"{PREFIX}/login?{query_string(next=error.path)}", 303)

    app.add_exception_handler(SignInRequired, sign_in_first)  # type: ignore[arg-type]
    for kind in (StarletteHTTPException, RequestValidationError, DomainError, Exception):
        api_handler = cast(Handler, app.exception_handlers[kind])
        app.add_exception_handler(kind, _either(api_handler))


def _either(api_handler: Handler) -> Handler:
    async def handle(request: Request, error: Any) -> Response:
        if not is_console(request):
            return await api_handler(request, error)
        if type(error) is Exception or not isinstance(
            error, StarletteHTTPException | RequestValidationError | DomainError
        ):
            await api_handler(request, error)  # logs it as the API does
        status, detail, problems = _console_status(error)
        return error_page(request, status, detail, problems=problems)

    return handle
