"""Dependencies of the routes, as `Annotated` aliases. Those that do no I/O are `async`:
FastAPI runs a plain `def` dependency in the thread pool, a hand-off per dependency per
request that costs more than the dependency itself."""

from __future__ import annotations

import hmac
import re
from collections.abc import Awaitable, Callable
from typing import Annotated, TypeVar

from fastapi import Depends, Header, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.concurrency import run_in_threadpool

from api.http.auth import (
    AuthenticationError,
    Principal,
    Role,
    TokenVerifier,
    bearer_token,
    principal_of,
)
from application.audit import EventLog
from application.catalog import CatalogService
from application.checkout.carts import CheckoutService
from application.checkout.payments import PaymentService
from application.customers import CustomerService
from application.event_store import EventStore
from application.invoices import InvoiceService
from application.labels import LabelService
from application.lgpd import DataSubjectService
from application.orders import OrderService
from application.products import ProductService
from application.promotions import PromotionService
from application.returns import ReturnService
from application.services import Services
from application.shipping import ShippingService
from domain.base import update_metadata
from infrastructure.bootstrap import Container
from projections.readers import STAFF, Readers, Viewer

# ASCII digits only: str.isdigit() also takes "²", which int() refuses.
_DIGITS = re.compile(r"[0-9]{1,18}")
IF_MATCH_PATTERN = r'^(W/)?"?[0-9]{1,18}"?$'
CONSISTENCY_POSITION_PATTERN = r"^[0-9]{1,18}$"
T = TypeVar("T")
_bearer = HTTPBearer(auto_error=False, description="JWT from `ecovarejo token` or your IdP")
_AUTHENTICATED = "ecovarejo.authenticated"  # the caller `authenticate` admitted


async def get_container(request: Request) -> Container:
    container: Container = request.app.state.container
    return container


ContainerDep = Annotated[Container, Depends(get_container)]


async def get_services(container: ContainerDep) -> Services:
    return container.services


ServicesDep = Annotated[Services, Depends(get_services)]

# One alias per service (application/services.py): a route names the one it calls. Each
# reads the app's services itself, one dependency to solve per request instead of a chain
# of three (service <- services <- container): FastAPI solves each link anew every time.


def _services(request: Request) -> Services:
    services: Services = request.app.state.container.services
    return services


async def get_store(request: Request) -> EventStore:
    return _services(request).store


async def get_event_log(request: Request) -> EventLog | None:
    return _services(request).event_log


async def get_catalog(request: Request) -> CatalogService:
    return _services(request).catalog


async def get_products(request: Request) -> ProductService:
    return _services(request).products


async def get_promotions(request: Request) -> PromotionService:
    return _services(request).promotions


async def get_shipping(request: Request) -> ShippingService:
    return _services(request).shipping


async def get_checkout(request: Request) -> CheckoutService:
    return _services(request).checkout


async def get_payments(request: Request) -> PaymentService:
    return _services(request).payments


async def get_orders(request: Request) -> OrderService:
    return _services(request).orders


async def get_labels(request: Request) -> LabelService:
    return _services(request).labels


async def get_returns(request: Request) -> ReturnService:
    return _services(request).returns


async def get_invoices(request: Request) -> InvoiceService:
    return _services(request).invoices


async def get_customers(request: Request) -> CustomerService:
    return _services(request).customers


async def get_data_subjects(request: Request) -> DataSubjectService:
    return _services(request).data_subjects


StoreDep = Annotated[EventStore, Depends(get_store)]
EventLogDep = Annotated[EventLog | None, Depends(get_event_log)]
CatalogDep = Annotated[CatalogService, Depends(get_catalog)]
ProductsDep = Annotated[ProductService, Depends(get_products)]
PromotionsDep = Annotated[PromotionService, Depends(get_promotions)]
ShippingDep = Annotated[ShippingService, Depends(get_shipping)]
CheckoutDep = Annotated[CheckoutService, Depends(get_checkout)]
PaymentsDep = Annotated[PaymentService, Depends(get_payments)]
OrdersDep = Annotated[OrderService, Depends(get_orders)]
LabelsDep = Annotated[LabelService, Depends(get_labels)]
ReturnsDep = Annotated[ReturnService, Depends(get_returns)]
InvoicesDep = Annotated[InvoiceService, Depends(get_invoices)]
CustomersDep = Annotated[CustomerService, Depends(get_customers)]
DataSubjectsDep = Annotated[DataSubjectService, Depends(get_data_subjects)]


async def authenticate(
    request: Request,
    _credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    """The verified caller (the edge middlewares may have verified the token already), once
    per request however many dependencies ask."""
    known: Principal | None = request.scope.get(_AUTHENTICATED)
    if known is not None:
        return known
    verifier: TokenVerifier = request.app.state.verifier
    principal = await principal_of(request.scope, verifier)
    if isinstance(principal, AuthenticationError):
        raise HTTPException(401, str(principal), {"WWW-Authenticate": "Bearer"})
    if principal.jti and await _revoked(request, principal):
        raise HTTPException(401, "this token was revoked", {"WWW-Authenticate": "Bearer"})
    # Every event this request causes is stamped with who asked.
    update_metadata(actor=principal.actor)
    request.scope[_AUTHENTICATED] = principal
    return principal


async def _revoked(request: Request, principal: Principal) -> bool:
    """One Redis round trip, only for our own access tokens (they carry a `jti`)."""
    from infrastructure.store.account_store import access_revoked

    container: Container = request.app.state.container
    return await access_revoked(
        container.aredis.client(),
        principal.sub,
        principal.jti,
        principal.family,
        principal.issued_at,
    )


class RoleCheck:
    """A dependency admitting only `roles` (403 for others). The OpenAPI document reads
    `roles` to list who may call a route. It authenticates itself (not through a dependency
    on `authenticate`: one dependency fewer for FastAPI to solve on every request)."""

    def __init__(self, roles: tuple[Role, ...]):
        self.roles = roles

    async def __call__(
        self,
        request: Request,
        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    ) -> Principal:
        principal = await authenticate(request, credentials)
        if principal.role not in self.roles:
            raise HTTPException(403, f"this needs the role {' or '.join(self.roles)}")
        return principal


class OperatorCheck(RoleCheck):
    """Operations data (/metrics): an admin, or a scraper holding ECOVAREJO_METRICS_TOKEN
    (not a JWT), or anyone on the separate operations listener (ECOVAREJO_METRICS_BIND)."""

    def __init__(self) -> None:
        super().__init__(("admin",))

    async def __call__(  # type: ignore[override]
        self,
        request: Request,
        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    ) -> Principal | None:
        if holds_operations_access(request):
            return None
        principal = await authenticate(request, credentials)
        if principal.role not in self.roles:
            raise HTTPException(403, "this needs the role admin or the metrics token")
        return principal


def holds_operations_access(request: Request) -> bool:
    """On the operations listener, or with the metrics token as bearer (no JWT needed)."""
    if getattr(request.app.state, "operations_only", False):
        return True
    expected = request.app.state.container.settings.metrics_token
    given = bearer_token(request.scope)
    return (
        expected is not None
        and given is not None
        and hmac.compare_digest(given.encode(), expected.get_secret_value().encode())
    )


async def is_operator(request: Request) -> bool:
    """Whether the caller may see operations details; never refuses."""
    if holds_operations_access(request):
        return True
    principal = await principal_of(request.scope, request.app.state.verifier)
    return isinstance(principal, Principal) and principal.role == "admin"


Operator = Annotated[Principal | None, Depends(OperatorCheck())]
IsOperator = Annotated[bool, Depends(is_operator)]


def require(*roles: Role) -> RoleCheck:
    return RoleCheck(roles)


AnyUser = Annotated[Principal, Depends(authenticate)]
Admin = Annotated[Principal, Depends(require("admin"))]
Customer = Annotated[Principal, Depends(require("customer"))]


async def if_match(if_match: Annotated[str | None, Header()] = None) -> int | None:
    """`If-Match: "3"` (or W/"3", or 3): the version the client's change is based on."""
    if if_match is None:
        return None
    raw = if_match.strip().removeprefix("W/").strip('"')
    if not _DIGITS.fullmatch(raw):
        raise _invalid_header("if-match", 'If-Match must be an aggregate version, e.g. "3"')
    return int(raw)


ExpectedVersion = Annotated[int | None, Depends(if_match)]


def _invalid_header(name: str, message: str) -> RequestValidationError:
    """A malformed header is invalid input (422 problem+json), as a malformed query is."""
    error = {"type": "value_error", "loc": ("header", name), "msg": message}
    return RequestValidationError([error])


async def query(read: Callable[[], T]) -> T:
    """Run one reader query off the event loop: a query route is `async def` and hands the
    (blocking) read — opening the reader included — to the thread pool once, instead of
    FastAPI handing the endpoint, its plain dependencies and its answer's validation over
    one by one: `await query(lambda: readers.orders.get(order_id, viewer))`."""
    return await run_in_threadpool(read)


async def get_readers(request: Request) -> Readers:
    readers: Readers = request.app.state.container.readers
    return readers


ReadersDep = Annotated[Readers, Depends(get_readers)]


def viewer_of(principal: Principal) -> Viewer:
    """Customers read their own documents; staff (admins, auditors) read all."""
    return Viewer(principal.sub) if principal.role == "customer" else STAFF


async def wait_for_read_model(container: Container, read_model: str, token: str | None) -> None:
    """The one consistency wait: until `read_model` has reached the client's
    X-Consistency-Token (a log position from a command's answer), without blocking the
    event loop (a Redis read model's writes wake it: `position_waits`), up to the
    configured time; then 503 with Retry-After."""
    if token is None:
        return
    if not _DIGITS.fullmatch(token):
        raise _invalid_header(
            "x-consistency-token", "X-Consistency-Token must be a token from a command response"
        )
    wait_s = container.settings.consistency_wait_s
    if not await container.reached_async(read_model, int(token), wait_s):
        raise HTTPException(
            503, f"the {read_model} read model has not caught up yet", {"Retry-After": "1"}
        )


def consistent_with(read_model: str) -> Callable[..., Awaitable[None]]:
    """A route dependency: wait for `read_model` to reach the X-Consistency-Token."""

    async def wait(
        container: ContainerDep,
        x_consistency_token: Annotated[str | None, Header()] = None,
    ) -> None:
        await wait_for_read_model(container, read_model, x_consistency_token)

    return wait
