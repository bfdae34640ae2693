"""The admin lists and work queues of each resource (the back office): products with
archived ones, returns by status, promotions, payments flagged or awaiting the payer,
webhook deliveries not applied, customers. Each reads the `back_office` read model; every
answer has `total` after the filters, `page` and `size`."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query

from api.http.command_route import CommandRoute
from api.http.deps import Admin, ContainerDep, ReadersDep, ServicesDep, consistent_with, query
from api.http.schemas_back_office import (
    CustomerList,
    CustomerRow,
    PaymentList,
    PaymentRow,
    ProductList,
    ProductRow,
    PromotionList,
    PromotionRow,
    ReturnList,
    ReturnRow,
    WebhookDeliveryList,
    WebhookDeliveryRow,
)
from application.customers import CustomerNotFoundError
from application.services import Services
from projections.back_office import BackOfficeProjection
from projections.back_office_reader import ProductFilter
from projections.readers import Page

router = APIRouter(
    route_class=CommandRoute,
    tags=["back office lists"],
    dependencies=[Depends(consistent_with(BackOfficeProjection.name))],
)
PageNo = Annotated[int, Query(ge=1, le=10_000)]
Size = Annotated[int, Query(ge=1, le=100)]
Words = Annotated[str | None, Query(min_length=1, max_length=100)]
ProductSort = Literal[
    "created_at",
    "-created_at",
    "sku",
    "-sku",
    "name",
    "-name",
    "price",
    "-price",
    "available",
    "-available",
]


def _paged(found: Page, row: Any) -> dict[str, Any]:
    items = [row.from_doc(d) for d in found.items]
    return {"items": items, "total": found.total, "page": found.page, "size": found.size}


@router.get("/stock-items")
async def list_products(
    readers: ReadersDep,
    container: ContainerDep,
    _: Admin,
    status: Literal["active", "archived"] | None = None,
    category: Words = None,
    low_stock: bool = False,
    low_stock_at: Annotated[int | None, Query(ge=0, le=1_000_000)] = None,
    q: Words = None,
    sort: ProductSort = "-created_at",
    page: PageNo = 1,
    size: Size = 20,
) -> ProductList:
    """Every product, archived ones included (`status=archived` finds them again);
    `low_stock=true`: active ones with at most `low_stock_at` available (default
    ECOVAREJO_LOW_STOCK_AT); `q`: words in the
    SKU or name; `sort`: a field, `-` first for descending."""
    at = container.settings.low_stock_at if low_stock_at is None else low_stock_at
    where = ProductFilter(status, category, low_stock, at, q)
    key, descending = sort.lstrip("-"), sort.startswith("-")
    found = await query(lambda: readers.back_office.products(where, key, descending, page, size))
    return ProductList(**_paged(found, ProductRow))


@router.get("/returns")
async def list_returns(
    readers: ReadersDep,
    _: Admin,
    status: Literal["requested", "approved", "rejected", "received", "refunded"] | None = None,
    page: PageNo = 1,
    size: Size = 20,
) -> ReturnList:
    """Returns, newest first; `status=requested` is the queue waiting for a decision,
    `approved` the one waiting for the parcel."""
    found = await query(lambda: readers.back_office.returns(status, page, size))
    return ReturnList(**_paged(found, ReturnRow))


@router.get("/promotions")
async def list_promotions(
    readers: ReadersDep,
    _: Admin,
    active: bool | None = None,
    page: PageNo = 1,
    size: Size = 20,
) -> PromotionList:
    """Coupons, newest first, with their uses; `active=true|false` to filter."""
    found = await query(lambda: readers.back_office.promotions(active, page, size))
    return PromotionList(**_paged(found, PromotionRow))


@router.get("/payments")
async def list_payments(
    readers: ReadersDep,
    _: Admin,
    queue: Literal["flagged", "awaiting"],
    page: PageNo = 1,
    size: Size = 20,
) -> PaymentList:
    """A work queue of payments: `flagged` (a notification's amount did not match) or
    `awaiting` (a Pix or boleto issued, not yet paid or expired)."""
    found = await query(lambda: readers.back_office.payments(queue, page, size))
    return PaymentList(**_paged(found, PaymentRow))


@router.get("/webhook-deliveries")
async def list_webhook_deliveries(
    readers: ReadersDep,
    _: Admin,
    outcome: Literal["not_applied", "any"] = "not_applied",
    page: PageNo = 1,
    size: Size = 20,
) -> WebhookDeliveryList:
    """Payment-provider notifications received, newest first: by default those not
    applied (unknown payment, amount mismatch, ignored)."""
    found = await query(lambda: readers.back_office.webhooks(outcome == "not_applied", page, size))
    return WebhookDeliveryList(**_paged(found, WebhookDeliveryRow))


def _with_profile(services: Services, row: dict[str, Any]) -> dict[str, Any]:
    """An admin's row: the name and e-mail decrypted (none once erased or never given)."""
    if row["erased"]:
        return row
    try:
        profile = services.customers.profile_of(row["customer_id"])
    except CustomerNotFoundError:
        return row
    return {**row, "name": profile.get("name"), "email": profile.get("email")}


@router.get("/customers")
async def list_customers(
    readers: ReadersDep,
    services: ServicesDep,
    _: Admin,
    erased: bool | None = None,
    page: PageNo = 1,
    size: Size = 20,
) -> CustomerList:
    """Customers, newest first, with consents; names and e-mails decrypted for admins."""

    def read() -> Page:
        found = readers.back_office.customers(erased, page, size)
        rows = [_with_profile(services, r) for r in found.items]
        return Page(rows, found.total, found.page, found.size)

    return CustomerList(**_paged(await query(read), CustomerRow))
