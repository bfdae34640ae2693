"""Analyst read models (admins): sales, CO2, top products, customers who consent."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query

from api.http.command_route import CommandRoute
from api.http.deps import Admin, ReadersDep
from api.http.schemas import AnalyticsRows

router = APIRouter(route_class=CommandRoute, prefix="/analytics", tags=["analytics"])
Limit = Annotated[int, Query(ge=1, le=1000)]


def _rows(readers: ReadersDep, kind: str, limit: int) -> AnalyticsRows:
    return AnalyticsRows(rows=readers.analytics.rows(kind, limit))


@router.get("/sales")
def sales(
    readers: ReadersDep, _: Admin, by: Literal["day", "category"] = "day", limit: Limit = 100
) -> AnalyticsRows:
    """Confirmed sales (orders, units, revenue in BRL) per day (newest first) or category."""
    return _rows(readers, f"sales:{by}", limit)


@router.get("/co2")
def co2(
    readers: ReadersDep,
    _: Admin,
    by: Literal["order", "category"] = "category",
    limit: Limit = 100,
) -> AnalyticsRows:
    """Carbon footprint (kg CO2e) of confirmed sales per order or per category."""
    return _rows(readers, f"co2:{by}", limit)


@router.get("/customers")
def customers(readers: ReadersDep, _: Admin, limit: Limit = 100) -> AnalyticsRows:
    """Per customer (orders, units, revenue, kg CO2e), most units first: only customers
    who consent to `analytics`, counting the orders confirmed while the consent held; a
    withdrawal or an erasure removes the customer's row."""
    return _rows(readers, "customer", limit)


@router.get("/top-products")
def top_products(readers: ReadersDep, _: Admin, limit: Limit = 10) -> AnalyticsRows:
    """Products by units sold, most first."""
    return _rows(readers, "product", limit)
