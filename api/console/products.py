"""Products in the console: the list (archived ones too, filters, low stock), a new
product, and a product's page with every daily action (edit, price, receive, adjust,
archive), each through the same application service as the API."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import Response

from api.console.actions import (
    caught_up,
    confirmed,
    decimal_field,
    done,
    guarded,
    int_field,
    money_field,
    text_field,
    version_field,
)
from api.console.web import ConsoleContainer, Form, pager, render, role
from api.http.auth import Principal
from api.http.schemas import SKU_PATTERN
from application.event_store import CommandResult
from domain.stock_item import StockItem
from infrastructure.bootstrap import Container
from projections.back_office_reader import ProductFilter

router = APIRouter()
Admin = Annotated[Principal, role("admin")]
Sku = Annotated[str, Path(pattern=SKU_PATTERN)]
PAGE_SIZE = 25


@router.get("/products")
def list_products(
    request: Request,
    container: ConsoleContainer,
    _: Admin,
    status: Annotated[str | None, Query(pattern="^(active|archived)?$")] = None,
    category: Annotated[str | None, Query(max_length=100)] = None,
    low_stock: Annotated[str | None, Query(pattern="^(1|true)?$")] = None,
    q: Annotated[str | None, Query(max_length=100)] = None,
    page: Annotated[int, Query(ge=1, le=10_000)] = 1,
) -> Response:
    reader = container.readers.back_office
    at = container.settings.low_stock_at
    where = ProductFilter(status or None, category or None, bool(low_stock), at, q or None)
    found = reader.products(where, "name", False, page, PAGE_SIZE)
    filters = {"status": status, "category": category, "low_stock": low_stock, "q": q}
    return render(
        request,
        "products.html",
        products=found.items,
        total=found.total,
        filters=filters,
        categories=reader.categories(),
        low_stock_at=at,
        **pager(found.total, page, PAGE_SIZE, **filters),
    )


@router.get("/products/new")
def new_product(request: Request, _: Admin) -> Response:
    return render(request, "product_new.html")


def _sustainability(fields: dict[str, str]) -> dict[str, Any]:
    certifications = [c.strip() for c in fields.get("certifications", "").split(",") if c.strip()]
    return {
        "carbon_footprint_kg": str(decimal_field(fields, "carbon_footprint_kg", 3)),
        "certifications": certifications,
        "recyclable": fields.get("recyclable") == "yes",
        "biodegradable": fields.get("biodegradable") == "yes",
    }


@router.post("/products")
def create_product(
    request: Request, fields: Form, container: ConsoleContainer, _: Admin
) -> Response:
    sku = text_field(fields, "sku", most=40).upper()
    result = container.services.catalog.register_stock_item(
        sku=sku,
        name=text_field(fields, "name"),
        description=text_field(fields, "description", required=False, most=4000),
        category=text_field(fields, "category", most=100),
        price=money_field(fields, "price"),
        initial_quantity=int_field(fields, "initial_quantity", least=0),
        sustainability=_sustainability(fields),
        weight_grams=int_field(fields, "weight_grams", least=1),
    )
    caught_up(request, result)
    return done(f"/products/{sku}")


def _item(container: Container, sku: str) -> StockItem:
    """The aggregate itself (not the read model): the form shows, and sends back, the
    version the record has now."""
    return container.services.catalog.stock_item(sku)


@router.get("/products/{sku}")
def show_product(request: Request, sku: Sku, container: ConsoleContainer, _: Admin) -> Response:
    item = _item(container, sku)
    row = container.readers.back_office.product(sku) or {}
    return render(
        request, "product.html", item=item, row=row, done=request.query_params.get("done")
    )


def _act(
    request: Request, container: Container, sku: str, fields: dict[str, str], act: Any
) -> Response:
    form_version = version_field(fields)
    conflict = guarded(
        request, form_version, lambda: _item(container, sku).version, lambda: act(form_version)
    )
    return conflict or done(f"/products/{sku}")


@router.post("/products/{sku}/edit")
def edit_product(
    request: Request, sku: Sku, fields: Form, container: ConsoleContainer, _: Admin
) -> Response:
    def act(version: int) -> CommandResult:
        return container.services.catalog.edit_stock_item(
            sku,
            name=text_field(fields, "name"),
            description=text_field(fields, "description", required=False, most=4000),
            category=text_field(fields, "category", most=100),
            weight_grams=int_field(fields, "weight_grams", least=1),
            sustainability=_sustainability(fields),
            expected_version=version,
        )

    return _act(request, container, sku, fields, act)


@router.post("/products/{sku}/price")
def change_price(
    request: Request, sku: Sku, fields: Form, container: ConsoleContainer, _: Admin
) -> Response:
    price = money_field(fields, "price")
    return _act(
        request,
        container,
        sku,
        fields,
        lambda v: container.services.catalog.change_price(sku, price, v),
    )


@router.post("/products/{sku}/receive")
def receive_stock(
    request: Request, sku: Sku, fields: Form, container: ConsoleContainer, _: Admin
) -> Response:
    quantity = int_field(fields, "quantity", least=1)
    reference = text_field(fields, "reference", required=False, most=100)

    def act(version: int) -> CommandResult:
        return container.services.catalog.receive_stock(sku, quantity, version, reference=reference)

    return _act(request, container, sku, fields, act)


@router.post("/products/{sku}/adjust")
def adjust_stock(
    request: Request, sku: Sku, fields: Form, container: ConsoleContainer, _: Admin
) -> Response:
    delta = int_field(fields, "quantity_delta")
    reason = text_field(fields, "reason")

    def act(version: int) -> CommandResult:
        return container.services.catalog.adjust_stock(sku, delta, reason, expected_version=version)

    return _act(request, container, sku, fields, act)


@router.post("/products/{sku}/archive")
def archive_product(
    request: Request, sku: Sku, fields: Form, container: ConsoleContainer, _: Admin
) -> Response:
    confirmed(request, fields)
    return _act(
        request,
        container,
        sku,
        fields,
        lambda v: container.services.catalog.archive_stock_item(sku, v),
    )
