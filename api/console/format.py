"""How the console writes values: money as `R$ 1.234,56` (English: `R$1,234.56`), times in
the configured zone with the zone shown, statuses and reasons in words, CEP and CPF with
their punctuation. Templates use these filters and never print a raw value: `None` is a
dash, a dict or a list is never shown as Python."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo

from jinja2 import pass_context
from jinja2.runtime import Context

from api.console.i18n import MESSAGES

DASH = "\u2013"  # an en dash
DEFAULT_ZONE = "America/Sao_Paulo"


def _lang(ctx: Context) -> str:
    return str(ctx.get("lang") or "pt")


def _zone(ctx: Context) -> ZoneInfo:
    request = ctx.get("request")
    container = getattr(getattr(getattr(request, "app", None), "state", None), "container", None)
    settings = getattr(container, "settings", None)
    return ZoneInfo(getattr(settings, "timezone", DEFAULT_ZONE))


def money_text(value: Any, lang: str = "pt") -> str:
    """`{"amount": "1234.5"}`, a Decimal or a string → `R$ 1.234,50` (pt) / `R$1,234.50`."""
    if value is None:
        return DASH
    amount = value.get("amount") if isinstance(value, dict) else getattr(value, "amount", value)
    try:
        number = Decimal(str(amount)).quantize(Decimal("0.01"))
    except (InvalidOperation, ValueError):
        return DASH
    sign = "-" if number < 0 else ""
    grouped = f"{abs(number):,.2f}"  # 1,234.50
    if lang == "pt":
        grouped = grouped.replace(",", "_").replace(".", ",").replace("_", ".")
        return f"{sign}R$ {grouped}"
    return f"{sign}R${grouped}"


def number_text(value: Any, lang: str = "pt", places: int | None = None) -> str:
    """A decimal in the page's language: `1.234,5` / `1,234.5` (`places`: fixed)."""
    if value is None or value == "":
        return DASH
    try:
        number = Decimal(str(value))
    except (InvalidOperation, ValueError):
        return DASH
    text = f"{number:,.{places}f}" if places is not None else f"{number:,}"
    if lang == "pt":
        text = text.replace(",", "_").replace(".", ",").replace("_", ".")
    return text


def when_text(value: Any, zone: ZoneInfo, lang: str = "pt", *, seconds: bool = False) -> str:
    """An ISO timestamp (or datetime) in `zone`, with the zone's abbreviation shown:
    `06/12/2026 19:54 -03` (pt) or `2026-12-06 19:54 -03` (en)."""
    if value in (None, ""):
        return DASH
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            return DASH
    if isinstance(value, date) and not isinstance(value, datetime):
        return value.strftime("%d/%m/%Y" if lang == "pt" else "%Y-%m-%d")
    if value.tzinfo is None:
        return DASH  # a time without its zone would be a guess
    local = value.astimezone(zone)
    clock = "%H:%M:%S" if seconds else "%H:%M"
    day = "%d/%m/%Y" if lang == "pt" else "%Y-%m-%d"
    return f"{local.strftime(f'{day} {clock}')} {local.strftime('%Z')}"


def cep_text(value: Any) -> str:
    digits = "".join(c for c in str(value or "") if c.isdigit())
    return f"{digits[:5]}-{digits[5:]}" if len(digits) == 8 else (str(value) if value else DASH)


def cpf_text(value: Any) -> str:
    digits = "".join(c for c in str(value or "") if c.isdigit())
    if len(digits) != 11:
        return str(value) if value else DASH
    return f"{digits[:3]}.{digits[3:6]}.{digits[6:9]}-{digits[9:]}"


def word(key: str, lang: str, kind: str = "status") -> str:
    """A status, reason, method… in words: MESSAGES `<kind>_<key>`, else the key with
    spaces (an unknown value is still readable, and a test lists the missing words)."""
    found = MESSAGES[lang].get(f"{kind}_{key}")
    return found if found is not None else str(key).replace("_", " ")


@pass_context
def _money(ctx: Context, value: Any) -> str:
    return money_text(value, _lang(ctx))


@pass_context
def _number(ctx: Context, value: Any, places: int | None = None) -> str:
    return number_text(value, _lang(ctx), places)


@pass_context
def _when(ctx: Context, value: Any, seconds: bool = False) -> str:
    return when_text(value, _zone(ctx), _lang(ctx), seconds=seconds)


@pass_context
def _day(ctx: Context, value: Any) -> str:
    text = when_text(value, _zone(ctx), _lang(ctx))
    return text.split(" ")[0] if text != DASH else text


@pass_context
def _status(ctx: Context, value: Any, kind: str = "status") -> str:
    return DASH if value in (None, "") else word(str(value), _lang(ctx), kind)


def _text(value: Any) -> str:
    """Anything else: a dash for nothing, never a Python repr of a dict or a list."""
    if value is None or value == "":
        return DASH
    if isinstance(value, dict | list | tuple | set):
        return DASH
    return str(value)


FILTERS = {
    "money": _money,
    "number": _number,
    "when": _when,
    "day": _day,
    "word": _status,
    "cep": cep_text,
    "cpf": cpf_text,
    "text": _text,
}
