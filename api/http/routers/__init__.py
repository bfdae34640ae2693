"""The routers of `/api/v1`, in the order the OpenAPI document lists them."""

from fastapi import APIRouter

from api.http.routers import (
    analytics,
    audit,
    auth,
    card_payments,
    carriers,
    carts,
    catalog,
    customers,
    finance,
    fiscal,
    lgpd,
    lists,
    marketing,
    orders,
    payments,
    product_images,
    products,
    promotions,
    returns,
    reviews,
    shipping,
    stock_items,
)

API_ROUTERS: list[APIRouter] = [
    stock_items.router,
    fiscal.router,
    product_images.router,  # issue 28
    reviews.router,  # issue 28
    products.router,  # before catalog: /products/search is not a product's slug
    catalog.router,
    carts.router,
    promotions.router,
    shipping.router,
    carriers.router,
    orders.router,
    returns.router,
    card_payments.router,  # before payments: /payments/config is not a payment id
    payments.router,
    audit.router,
    customers.router,
    lgpd.router,
    marketing.router,
    analytics.router,
    finance.router,
    auth.router,
    lists.router,
]
