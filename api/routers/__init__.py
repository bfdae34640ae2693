"""The routers of `/api/v1`, in the order the OpenAPI document lists them."""

from fastapi import APIRouter

from api.routers import (
    analytics,
    audit,
    carts,
    customers,
    lgpd,
    lists,
    marketing,
    orders,
    payments,
    products,
    promotions,
    returns,
    shipping,
    stock_items,
)

API_ROUTERS: list[APIRouter] = [
    stock_items.router,
    products.router,
    carts.router,
    promotions.router,
    shipping.router,
    orders.router,
    returns.router,
    payments.router,
    audit.router,
    customers.router,
    lgpd.router,
    marketing.router,
    analytics.router,
    lists.router,
]
