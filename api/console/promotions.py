"""Coupons and the shipping rates table in the console: launch and deactivate coupons,
replace the rates table (at the version it was shown with)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, time
from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import APIRouter, HTTPException, Path, Request
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
from api.console.web import ConsoleContainer, Form, render, role
from api.http.auth import Principal
from domain.shipping import RatesTable

router = APIRouter()
Admin = Annotated[Principal, role("admin")]
Code = Annotated[str, Path(pattern=r"^[A-Za-z0-9_-]{1,40}$")]


@router.get("/promotions")
def promotions(request: Request, container: ConsoleContainer, _: Admin) -> Response:
    found = container.readers.back_office.promotions(None, 1, 100)
    return render(
        request,
        "promotions.html",
        promotions=found.items,
        total=found.total,
        done=request.query_params.get("done"),
        today=datetime.now(ZoneInfo(container.settings.timezone)).date().isoformat(),
    )


def _day(fields: dict[str, str], name: str, zone: ZoneInfo, end: bool) -> datetime:
    """A day of the form (`YYYY-MM-DD`) as the start or end of that day in the shop's zone."""
    try:
        day = datetime.fromisoformat(fields.get(name, "")).date()
    except ValueError:
        raise HTTPException(422, f"{name}: a day, e.g. 2026-12-31") from None
    return datetime.combine(day, time.max if end else time.min, zone).astimezone(UTC)


@router.post("/promotions")
def launch(request: Request, fields: Form, container: ConsoleContainer, _: Admin) -> Response:
    zone = ZoneInfo(container.settings.timezone)
    kind = fields.get("kind", "")
    if kind not in ("percent", "fixed"):
        raise HTTPException(422, "kind: percent or fixed")
    max_uses = fields.get("max_uses", "").strip()
    result = container.services.promotions.launch_promotion(
        code=text_field(fields, "code", most=40),
        description=text_field(fields, "description", required=False),
        kind=kind,
        value=decimal_field(fields, "value"),
        valid_from=_day(fields, "valid_from", zone, end=False),
        valid_until=_day(fields, "valid_until", zone, end=True),
        min_subtotal=money_field(fields, "min_subtotal") if fields.get("min_subtotal") else None,
        max_uses=int_field(fields, "max_uses", least=1) if max_uses else None,
    )
    caught_up(request, result)
    return done("/promotions")


@router.post("/promotions/{code}/deactivate")
def deactivate(
    request: Request, code: Code, fields: Form, container: ConsoleContainer, _: Admin
) -> Response:
    confirmed(request, fields)
    form_version = version_field(fields)
    conflict = guarded(
        request,
        form_version,
        lambda: int(container.services.promotions.promotion(code).version),
        lambda: container.services.promotions.deactivate_promotion(code, form_version),
    )
    return conflict or done("/promotions")


@router.get("/shipping")
def shipping(request: Request, container: ConsoleContainer, _: Admin) -> Response:
    table, version = container.services.shipping.rates_in_force()
    as_dict = table.to_dict()
    return render(
        request,
        "shipping.html",
        table=as_dict,
        version=version,
        table_json=json.dumps(as_dict, indent=2, ensure_ascii=False),
        done=request.query_params.get("done"),
    )


@router.post("/shipping")
def replace_rates(
    request: Request, fields: Form, container: ConsoleContainer, _: Admin
) -> Response:
    form_version = version_field(fields)
    try:
        data = json.loads(fields.get("table", ""))
    except ValueError as error:
        raise HTTPException(422, f"table: not JSON ({error})") from None
    if not isinstance(data, dict):
        raise HTTPException(422, "table: a JSON object, as shown")
    data["free_standard_from"] = str(decimal_field(fields, "free_standard_from"))
    table = RatesTable.from_dict(data)
    conflict = guarded(
        request,
        form_version,
        lambda: container.services.shipping.rates_in_force()[1],
        lambda: container.services.shipping.replace_shipping_rates(table, form_version),
    )
    return conflict or done("/shipping")
