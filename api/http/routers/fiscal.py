"""What an NF-e needs of a product: its NCM, ICMS origin and CFOP (admin)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Response
from pydantic import Field, StringConstraints

from api.http.command_route import CommandRoute
from api.http.deps import (
    Admin,
    InvoicesDep,
)
from api.http.etag import set_etag
from api.http.schemas import Schema, Sku

router = APIRouter(route_class=CommandRoute, tags=["stock-items"])


class ProductTaxesUpdate(Schema):
    ncm: Annotated[str, StringConstraints(pattern=r"^\d{4}\.?\d{2}\.?\d{2}$")]
    origin: Annotated[int, Field(ge=0, le=8, strict=True)] = 0
    cfop: Annotated[str, StringConstraints(pattern=r"^[56]\d{3}$")] = "5102"


class ProductTaxesPublic(Schema):
    sku: str
    ncm: str
    origin: int
    cfop: str
    version: int


@router.put("/stock-items/{sku}/fiscal")
def set_product_taxes(
    sku: Sku, body: ProductTaxesUpdate, invoices: InvoicesDep, _: Admin, response: Response
) -> ProductTaxesPublic:
    """The product's NCM (8 digits of an existing chapter, else 422), ICMS origin and the
    CFOP of a sale (5102 within the state by default). 404 for an unknown SKU."""
    invoices.set_product_taxes(sku, body.ncm, body.origin, body.cfop)
    return _public(invoices, sku, response)


@router.get("/stock-items/{sku}/fiscal")
def get_product_taxes(
    sku: Sku, invoices: InvoicesDep, _: Admin, response: Response
) -> ProductTaxesPublic:
    """404 until the product's fiscal data is set."""
    return _public(invoices, sku, response)


def _public(invoices: InvoicesDep, sku: str, response: Response) -> ProductTaxesPublic:
    taxes = invoices.product_taxes(sku)
    if taxes is None:
        raise HTTPException(404, f"no fiscal data for {sku}")
    set_etag(response, taxes.version)
    return ProductTaxesPublic(
        sku=taxes.sku, ncm=taxes.ncm, origin=taxes.origin, cfop=taxes.cfop, version=taxes.version
    )
