"""One reconciliation run, as the CLI (`ecovarejo finance reconcile`) and the console's
reconciliation page both do it: a provider's report — a file in its documented shape, or
fetched from the provider where it offers one — against our books for a range of days,
optionally recorded (the analytics' gross, fees and net)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from application.card_tokens import every_gateway, provider_of
from application.event_store import EventStore
from application.ports import GatewayError, PaymentGateway
from application.reconciliation import (
    Report,
    SettlementLine,
    books_of,
    reconcile,
    record_settlement,
)
from infrastructure.gateways.payments.names import KNOWN_GATEWAYS
from infrastructure.gateways.settlement_reports import UnreadableReportError, lines_of, parse_report

MAX_DAYS = 366  # a year at most per run: the books are read from the whole log


class ReconciliationInputError(Exception):
    """The run cannot start: an unknown or unconfigured provider, a bad range, an
    unreadable report, a provider that gave none (a CLI error line; a 422 page)."""


def configured_providers(gateways: Sequence[PaymentGateway]) -> list[str]:
    """The providers with a gateway built here (in the chain or merely configured)."""
    found = {provider_of(g) for g in every_gateway(gateways)}
    return [p for p in KNOWN_GATEWAYS if p in found]


def check_range(start: date, end: date) -> None:
    if end < start:
        raise ReconciliationInputError("the last day is before the first")
    if (end - start).days >= MAX_DAYS:
        raise ReconciliationInputError(f"at most {MAX_DAYS} days per run")


def fetched_lines(
    gateways: list[Any], provider: str, start: date, end: date
) -> list[SettlementLine]:
    """The report from the provider itself, where it offers one."""
    since = datetime.combine(start, time(), UTC)
    until = datetime.combine(end + timedelta(days=1), time(), UTC)
    for gateway in gateways:
        if provider_of(gateway) != provider:
            continue
        if hasattr(gateway, "settlement_rows"):
            return lines_of(provider, gateway.settlement_rows(since, until))
        if hasattr(gateway, "ledger"):  # the sandbox's acquirers
            # Only what moved money settles: authorizations, voids, 3-D Secure challenges
            # are operations of the sandbox's ledger, not lines of a statement.
            rows = [
                r
                for g in gateways
                if provider_of(g) == provider
                for r in g.ledger()
                if r.get("op") in ("capture", "refund")
            ]
            return lines_of(provider, rows)
    raise ReconciliationInputError(
        f"{provider} gives no report through its API here: send its file"
    )


def run_reconciliation(
    store: EventStore,
    chain: Sequence[PaymentGateway],
    provider: str,
    start: date,
    end: date,
    text: str | None,
    record: bool = False,
) -> Report:
    """Match the report (`text`, else fetched) to the books; with `record`, keep totals."""
    if provider not in KNOWN_GATEWAYS:
        raise ReconciliationInputError(
            f"the provider must be one of {', '.join(KNOWN_GATEWAYS)}, got {provider!r}"
        )
    check_range(start, end)
    gateways = every_gateway(chain)
    if provider not in configured_providers(chain):
        raise ReconciliationInputError(
            f"{provider} is not configured (ECOVAREJO_GATEWAYS and its keys)"
        )
    try:
        lines = (
            parse_report(provider, text)
            if text is not None
            else fetched_lines(gateways, provider, start, end)
        )
    except UnreadableReportError as error:
        raise ReconciliationInputError(str(error)) from None
    except GatewayError as error:
        raise ReconciliationInputError(f"{provider} did not give its report: {error}") from None
    report = reconcile(provider, start, end, lines, books_of(store, chain, provider, start, end))
    if record:
        record_settlement(store, report)
    return report
