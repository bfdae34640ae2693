"""Catalog and inventory: admins change stock items, anyone reads them."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Response, status

from api.http.command_route import CommandRoute
from api.http.deps import (
    Admin,
    CatalogDep,
    ExpectedVersion,
    ReadersDep,
    consistent_with,
    query,
)
from api.http.etag import set_etag, version_tag
from api.http.http_cache import cached_answer
from api.http.schemas import (
    SKU_PATTERN,
    AdjustmentCreate,
    PriceUpdate,
    ReceiptCreate,
    StockItemCommandResult,
    StockItemCreate,
    StockItemPatch,
    StockItemPublic,
)
from api.http.stored import ConditionalDep, PoliciesDep, StoredDep, canonical, stored_version
from application.event_store import CommandResult
from projections.catalog import StockItemsProjection, public_stock_key

router = APIRouter(route_class=CommandRoute, prefix="/stock-items", tags=["stock items"])
SkuPath = Annotated[str, Path(pattern=SKU_PATTERN, description="the product's SKU")]


def _answer(response: Response, sku: str, result: CommandResult) -> StockItemCommandResult:
    set_etag(response, result.version)
    return StockItemCommandResult(
        sku=sku, version=result.version, consistency_token=result.consistency_token
    )


@router.post("", status_code=status.HTTP_201_CREATED)
def register_stock_item(
    body: StockItemCreate, catalog: CatalogDep, _: Admin, response: Response
) -> StockItemCommandResult:
    """Register a product and its opening stock (admin). 409 if the SKU exists."""
    result = catalog.register_stock_item(
        sku=body.sku,
        name=body.name,
        description=body.description,
        category=body.category,
        price=body.price.to_money(),
        initial_quantity=body.initial_quantity,
        sustainability=body.sustainability.model_dump(),
        weight_grams=body.weight_grams,
    )
    response.headers["Location"] = f"/api/v1/stock-items/{body.sku}"
    return _answer(response, body.sku, result)


@router.post("/{sku}/receipts")
def receive_stock(
    sku: SkuPath,
    body: ReceiptCreate,
    catalog: CatalogDep,
    _: Admin,
    response: Response,
    expected_version: ExpectedVersion,
) -> StockItemCommandResult:
    """Record goods received from a supplier (admin), with the invoice / nota fiscal number as
    `reference`.
    """
    result = catalog.receive_stock(sku, body.quantity, expected_version, reference=body.reference)
    return _answer(response, sku, result)


@router.post("/{sku}/adjustments")
def adjust_stock(
    sku: SkuPath,
    body: AdjustmentCreate,
    catalog: CatalogDep,
    _: Admin,
    response: Response,
    expected_version: ExpectedVersion,
) -> StockItemCommandResult:
    """Correct the stock on hand up or down with a reason (admin), e.g. breakage or a count;
    never below what is reserved.
    """
    result = catalog.adjust_stock(sku, body.quantity_delta, body.reason, expected_version)
    return _answer(response, sku, result)


@router.put("/{sku}/price")
def change_price(
    sku: SkuPath,
    body: PriceUpdate,
    catalog: CatalogDep,
    _: Admin,
    response: Response,
    expected_version: ExpectedVersion,
) -> StockItemCommandResult:
    """Set a product's price (admin). Carts show the new price; orders keep the price they were
    placed at.
    """
    result = catalog.change_price(sku, body.price.to_money(), expected_version)
    return _answer(response, sku, result)


@router.get(
    "/{sku}",
    response_model=StockItemPublic,
    responses={304: {"description": "If-None-Match names the current version"}},
    dependencies=[Depends(consistent_with(StockItemsProjection.name))],
)
async def get_stock_item(
    sku: SkuPath,
    stored: StoredDep,
    asked: ConditionalDep,
    policies: PoliciesDep,
    readers: ReadersDep,
) -> Response:
    """A product with its stock (on hand, reserved, available), price and sustainability data.
    Public: anyone may read a product, archived ones too (old orders link to them). The
    answer is the stored public document as is; anonymous answers are cacheable."""
    body = await stored.raw(StockItemsProjection.name, public_stock_key(sku))
    if body is None:  # a generation built before public documents were stored
        doc = await query(lambda: readers.stock_items.get(sku))
        body = canonical(StockItemPublic.from_doc(doc).model_dump(mode="json"))
    etag = version_tag(stored_version(body))
    return cached_answer(asked, body, etag, policies.product)


@router.patch("/{sku}")
def edit_stock_item(
    sku: SkuPath,
    body: StockItemPatch,
    catalog: CatalogDep,
    _: Admin,
    response: Response,
    expected_version: ExpectedVersion,
) -> StockItemCommandResult:
    """Change any of name, description, category, weight, sustainability data and whether
    the product is durable goods (its defect window: 90 days from delivery, else 30)."""
    sustainability = body.sustainability.model_dump() if body.sustainability else None
    result = catalog.edit_stock_item(
        sku,
        name=body.name,
        description=body.description,
        category=body.category,
        weight_grams=body.weight_grams,
        sustainability=sustainability,
        durable=body.durable,
        expected_version=expected_version,
    )
    return _answer(response, sku, result)


@router.post("/{sku}/archive")
def archive_stock_item(
    sku: SkuPath,
    catalog: CatalogDep,
    _: Admin,
    response: Response,
    expected_version: ExpectedVersion,
) -> StockItemCommandResult:
    """No longer sold: refused in carts and at checkout; still readable by SKU."""
    return _answer(response, sku, catalog.archive_stock_item(sku, expected_version))
