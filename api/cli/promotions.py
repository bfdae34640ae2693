"""`ecovarejo promotions create|show|deactivate`: coupons, for admins."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Annotated

import typer

from api.cli.common import CliError, connected, emit, parse_instant
from api.http.text import text_problem

if TYPE_CHECKING:
    from domain.promotion import Promotion

promotions_app = typer.Typer(help="Promotions and coupon codes (admin).", no_args_is_help=True)


def _decimal(value: str, what: str) -> Decimal:
    """A decimal as the HTTP API's `Amount` takes it; the domain checks its range."""
    try:
        number = Decimal(value)
    except InvalidOperation:
        raise CliError(f"{what} must be a decimal, got {_shown(value)}") from None
    if not number.is_finite():
        raise CliError(f"{what} must be a finite decimal, got {_shown(value)}")
    return number


def _text(value: str, what: str) -> str:
    """The edge's text rule (api/http/text.py), as the HTTP API applies it."""
    problem = text_problem(value)
    if problem:
        raise CliError(f"{what}: {problem}")
    return value


def _shown(value: str) -> str:
    return repr(value.encode("utf-8", "backslashreplace").decode("ascii", "backslashreplace"))


def _instant(value: str, what: str) -> datetime:
    try:
        return parse_instant(value)
    except CliError:
        raise CliError(
            f"{what} must be an ISO 8601 instant with a timezone, got {_shown(value)}"
        ) from None


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
    from domain.base import now
    from domain.money import Money

    start = _instant(valid_from, "--valid-from") if valid_from else now()
    try:
        end = _instant(valid_until, "--valid-until") if valid_until else start + timedelta(days=30)
    except OverflowError:
        raise CliError(
            "--valid-from is too late for a 30-day default; give --valid-until"
        ) from None
    code, description = _text(code, "code"), _text(description, "--description")
    off = _decimal(_text(value, "--value"), "--value")
    minimum = Money.brl(_decimal(_text(min_subtotal, "--min-subtotal"), "--min-subtotal"))
    categories = [_text(c, "--category") for c in category or []]
    with connected() as container:
        container.services.promotions.launch_promotion(
            code=code,
            description=description,
            kind=_text(kind, "--kind"),
            value=off,
            valid_from=start,
            valid_until=end,
            min_subtotal=minimum,
            max_uses=max_uses,
            max_uses_per_customer=max_uses_per_customer,
            categories=categories,
        )
        promotion = container.services.promotions.promotion(code)
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
        document = _document(container.services.promotions.promotion(_text(code, "code")))
    if as_json:
        emit(document)
    else:
        for key, value in document.items():
            typer.echo(f"{key}: {_shown_value(value)}")


@promotions_app.command("deactivate")
def deactivate(
    code: Annotated[str, typer.Argument()],
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Stop a promotion: no cart can apply it and no new order can use it."""
    with connected() as container:
        container.services.promotions.deactivate_promotion(_text(code, "code"))
    if as_json:
        emit({"code": code.upper(), "active": False})
        return
    typer.echo(f"deactivated {code.upper()}")


def _shown_value(value: object) -> str:
    """Money as R$ 1.234,56, lists comma-separated, nothing as a dash: never a Python repr."""
    from api.console.format import money_text

    if isinstance(value, dict) and "amount" in value:
        return money_text(value)
    if isinstance(value, list):
        return ", ".join(str(v) for v in value) or "-"
    return "-" if value is None else str(value)
