"""Marketing sends: only to customers who consented to marketing e-mail."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException

from api.http.command_route import CommandRoute
from api.http.deps import (
    Admin,
    CustomersDep,
)
from api.http.openapi import problem
from api.http.schemas_customers import MarketingSendCreate, MarketingSendReport

router = APIRouter(
    route_class=CommandRoute, prefix="/marketing", tags=["customers and data subjects (LGPD)"]
)


@router.post("/sends", responses={404: problem("no product with that sku")})
def send(body: MarketingSendCreate, customers: CustomersDep, _: Admin) -> MarketingSendReport:
    """A newsletter (`subject`, `body`) or a back-in-stock alert (`sku`); says how many
    customers it skipped for want of the `marketing_email` consent."""
    if body.kind == "back_in_stock":
        if body.sku is None:
            raise HTTPException(422, "back_in_stock needs the sku")
        done = customers.send_back_in_stock(body.sku)
    else:
        if body.subject is None:
            raise HTTPException(422, "a newsletter needs a subject")
        done = customers.send_marketing("newsletter", body.subject, body.body)
    return MarketingSendReport(kind=done.kind, sent=done.sent, skipped=done.skipped)
