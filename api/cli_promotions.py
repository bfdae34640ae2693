"""`ecovarejo promotions create|show|deactivate`: coupons, for admins."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Annotated

import typer

from api.cli import CliError, app, connected, emit, parse_instant
from domain.money import Money
from domain.promotion import Promotion

promotions_app = typer.Typer(help="Promotions and coupon codes (admin).", no_args_is_help=True)
app.add_typer(promotions_app, name="promotions")


def _decimal(value: str, what: str) -> Decimal:
    try:
        return Decimal(value)
    except InvalidOperation:
        raise CliError(f"{what} must be a decimal, got {value!r}") from None


def _document(promotion: Promotion) -> dict[str, object]:
    return {
        "code": promotion.code,
        "description": promotion.description,
        "kind": promotion.kind.value,
        "value": str(promotion.value),
        "min_subtotal": promotion.min_subtotal.to_dict(),
        "valid_from": promotion.valid_from.isoformat(),
        "valid_until": promotion.valid_until.isoformat(),
        "max_uses": promotion.max_uses,
        "max_uses_per_customer": promotion.max_uses_per_customer,
        "categories": promotion.categories,
        "uses": promotion.use_count,
        "active": promotion.active,
        "version": promotion.version,
    }


@promotions_app.command("create")
def create(
    code: Annotated[str, typer.Argument(help="the coupon code customers type")],
    kind: Annotated[str, typer.Option(help="percent or fixed")] = "percent",
    value: Annotated[str, typer.Option(help='percent ("10") or BRL off ("15.00")')] = "10",
    description: Annotated[str, typer.Option()] = "",
    min_subtotal: Annotated[str, typer.Option(help="BRL, e.g. 100.00")] = "0",
    valid_from: Annotated[str | None, typer.Option(help="ISO 8601 (default: now)")] = None,
    valid_until: Annotated[str | None, typer.Option(help="ISO 8601 (default: in 30 days)")] = None,
    max_uses: Annotated[int | None, typer.Option(min=1)] = None,
    max_uses_per_customer: Annotated[int | None, typer.Option(min=1)] = None,
    category: Annotated[list[str] | None, typer.Option(help="eligible category (repeat)")] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Launch a promotion."""
    start = parse_instant(valid_from) if valid_from else datetime.now(tz=UTC)
    end = parse_instant(valid_until) if valid_until else start + timedelta(days=30)
    with connected() as container:
        container.shop.launch_promotion(
            code=code,
            description=description,
            kind=kind,
            value=_decimal(value, "--value"),
            valid_from=start,
            valid_until=end,
            min_subtotal=Money.brl(min_subtotal),
            max_uses=max_uses,
            max_uses_per_customer=max_uses_per_customer,
            categories=category or [],
        )
        promotion = container.shop.promotion(code)
    if as_json:
        emit(_document(promotion))
    else:
        typer.echo(f"created {promotion.code}")


@promotions_app.command("show")
def show(
    code: Annotated[str, typer.Argument()],
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """A promotion's terms and how many uses it has."""
    with connected() as container:
        document = _document(container.shop.promotion(code))
    if as_json:
        emit(document)
    else:
        for key, value in document.items():
            typer.echo(f"{key}: {value}")


@promotions_app.command("deactivate")
def deactivate(
    code: Annotated[str, typer.Argument()],
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Stop a promotion: no cart can apply it and no new order can use it."""
    with connected() as container:
        container.shop.deactivate_promotion(code)
    if as_json:
        emit({"code": code.upper(), "active": False})
        return
    typer.echo(f"deactivated {code.upper()}")
