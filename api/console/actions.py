"""What every console action shares: the version the form was rendered with (a stale form
is a 409 page that explains the conflict and changes nothing), a ticked confirmation for
destructive actions, typed fields with the field named in the error, and the redirect
after a change (post/redirect/get: a reload does not post twice)."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any
from urllib.parse import urlsplit

from fastapi import HTTPException, Request
from fastapi.responses import RedirectResponse, Response

from api.console.i18n import MESSAGES
from api.console.web import PREFIX, language, query_string, render
from application.decimal_text import parse_decimal
from application.errors import VersionConflictError
from application.event_store import CommandResult
from domain.money import Money


def words(request: Request) -> dict[str, str]:
    return MESSAGES[language(request)]


def version_field(fields: dict[str, str]) -> int:
    """The aggregate version the form was rendered with (a hidden field)."""
    raw = fields.get("version", "")
    if not raw.isdigit() or len(raw) > 12:
        raise HTTPException(422, "version: the form's version is missing; reload the page")
    return int(raw)


def confirmed(request: Request, fields: dict[str, str]) -> None:
    """Destructive actions need their confirmation box ticked (no script asks: CSP)."""
    if fields.get("confirm") != "yes":
        raise HTTPException(422, words(request)["confirm_required"])


def text_field(fields: dict[str, str], name: str, *, required: bool = True, most: int = 200) -> str:
    value = " ".join(fields.get(name, "").split())
    if required and not value:
        raise HTTPException(422, f"{name}: required")
    if len(value) > most:
        raise HTTPException(422, f"{name}: at most {most} characters")
    return value


def int_field(fields: dict[str, str], name: str, *, least: int | None = None) -> int:
    raw = fields.get(name, "").strip()
    try:
        value = int(raw)
    except ValueError:
        raise HTTPException(422, f"{name}: a whole number, e.g. 12") from None
    if least is not None and value < least:
        raise HTTPException(422, f"{name}: at least {least}")
    if abs(value) > 1_000_000:
        raise HTTPException(422, f"{name}: at most 1000000")
    return value


def decimal_field(fields: dict[str, str], name: str, places: int = 2) -> Decimal:
    try:
        return parse_decimal(fields.get(name, ""), places)
    except ValueError as error:
        raise HTTPException(422, f"{name}: {error}") from None


def money_field(fields: dict[str, str], name: str) -> Money:
    amount = decimal_field(fields, name)
    if amount < 0:
        raise HTTPException(422, f"{name}: cannot be negative")
    return Money.brl(str(amount))


def done(path: str, **notice: Any) -> Response:
    """Back to the page, saying what happened (303: the browser GETs it)."""
    query = query_string(done=1, **notice)
    return RedirectResponse(f"{PREFIX}{path}?{query}", 303)


def guarded(
    request: Request, form_version: int, current: Callable[[], int], change: Callable[[], Any]
) -> Response | None:
    """Run `change` (which passes `form_version` as the expected version); a conflict is a
    409 page saying which version the form had and which the record has now."""
    try:
        result = change()
    except VersionConflictError:
        return render(
            request,
            "conflict.html",
            409,
            form_version=form_version,
            current_version=current(),
            back=_back(request),
        )
    caught_up(request, result)
    return None


def caught_up(request: Request, result: Any) -> None:
    """Read your writes: the page the browser is sent to next reads the read models, so
    wait (a short, bounded while) until they hold this change."""
    if isinstance(result, CommandResult):
        container = request.app.state.container
        container.wait_for_projections(result.position, container.settings.consistency_wait_s)


def _back(request: Request) -> str:
    """The console page the form was on (never another site's address)."""
    parts = urlsplit(request.headers.get("referer", ""))
    if parts.path.startswith(PREFIX) and parts.netloc == request.url.netloc:
        return parts.path + (f"?{parts.query}" if parts.query else "")
    return PREFIX
