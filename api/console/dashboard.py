"""The back office's home: today's sales (in the shop's time zone) and what waits for
someone, each count a link to its queue. Read from the read models and the LGPD register;
`waiting` is empty when nothing does."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from api.console.lgpd import _requests
from api.http.auth import Principal
from application.operations.read_side import status
from infrastructure.bootstrap import Container
from projections.back_office import WEBHOOKS_NOT_APPLIED
from projections.back_office_reader import ProductFilter
from projections.orders import OrdersProjection, order_index, order_key
from projections.readers import BOUGHT

MOST_ORDERS_A_DAY = 5000  # summed on the home page; beyond, analytics has the figures


@dataclass(frozen=True)
class Waiting:
    key: str  # the i18n word
    count: int
    link: str


def today_sales(container: Container) -> dict[str, Any]:
    """Orders placed today (local day) that were paid for: how many and how much."""
    zone = ZoneInfo(container.settings.timezone)
    start = datetime.combine(datetime.now(zone).date(), time.min, zone)
    end = start + timedelta(days=1)
    view = container.view(OrdersProjection.name)
    ids = view.client.zrevrangebyscore(
        view.key(order_index()), end.timestamp(), start.timestamp(), 0, MOST_ORDERS_A_DAY
    )
    keys = [order_key(i.decode() if isinstance(i, bytes) else str(i)) for i in ids]
    docs = [d for d in view.get_many(keys) if d is not None]
    sold = [d for d in docs if d["status"] in BOUGHT]
    total = sum((Decimal(d["totals"]["total"]["amount"]) for d in sold), Decimal("0"))
    return {"orders": len(sold), "total": {"amount": str(total)}, "placed": len(docs)}


def waiting(container: Container, principal: Principal) -> list[Waiting]:
    """Every queue with something in it, in the order a shop works them."""
    office = container.readers.back_office
    orders = container.readers.orders
    parked = sum(len(f.parked) for f in status(container.read_side))
    near = [
        r for r in _requests(container.services, principal) if r["urgency"] in ("near", "overdue")
    ]
    low = office.products(
        ProductFilter(low_stock=True, low_stock_at=container.settings.low_stock_at)
    )
    found = [
        Waiting("to_ship", orders.count("confirmed"), "/console/orders?status=confirmed"),
        Waiting(
            "returns_to_decide",
            office.count_returns("requested"),
            "/console/returns?status=requested",
        ),
        Waiting(
            "returns_to_receive",
            office.count_returns("approved"),
            "/console/returns?status=approved",
        ),
        Waiting(
            "flagged_payments", office.count_payments("flagged"), "/console/payments?queue=flagged"
        ),
        Waiting(
            "webhooks_not_applied", office.docs.count(WEBHOOKS_NOT_APPLIED), "/console/webhooks"
        ),
        Waiting("parked_events", parked, "/console/read-side"),
        Waiting("lgpd_near", len(near), "/console/lgpd"),
        Waiting("low_stock", low.total, "/console/products?low_stock=1&status=active"),
    ]
    return [w for w in found if w.count]


def awaiting_payment(container: Container) -> int:
    return container.readers.back_office.count_payments("awaiting")


BACK_OFFICE_PAGES = (
    ("products", "/console/products"),
    ("returns", "/console/returns"),
    ("promotions", "/console/promotions"),
    ("payments", "/console/payments"),
    ("customers", "/console/customers"),
    ("shipping_rates", "/console/shipping"),
)


def back_office_home(container: Container, principal: Principal) -> dict[str, Any]:
    """What the home page shows an admin."""
    return {
        "sales": today_sales(container),
        "waiting": waiting(container, principal),
        "awaiting_payment": awaiting_payment(container),
        "office_pages": BACK_OFFICE_PAGES,
        "zone": container.settings.timezone,
    }
