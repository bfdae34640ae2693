"""`ecovarejo finance reconcile`: a provider's settlement report against our books.

The report comes from `--file` (the provider's documented export, or a CSV of the same
shape: infrastructure/gateways/settlement_reports.py) or, for Stripe and the sandbox, from the
provider itself. It lists what matches, what is missing on either side, the fees and the
discrepancies (duplicate lines, another currency, unknown types, other amounts), with
totals to the centavo; exit 0 when everything matches, 1 when something does not.
"""

from __future__ import annotations

import sys
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any

import typer

from api.cli.common import CliError, connected, emit, parse_uuid
from api.cli.sandbox import sandbox_app
from infrastructure.gateways.payments.names import KNOWN_GATEWAYS

finance_app = typer.Typer(help="Money: reconciliation with the providers.", no_args_is_help=True)


def parse_day(value: str, option: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise CliError(f"{option} must be a date YYYY-MM-DD, got {value!r}") from None


@finance_app.command("reconcile")
def reconcile_command(
    provider: Annotated[str, typer.Option(help=f"one of {', '.join(KNOWN_GATEWAYS)}")],
    from_: Annotated[str, typer.Option("--from", help="first day, YYYY-MM-DD (UTC)")],
    to: Annotated[str, typer.Option("--to", help="last day, YYYY-MM-DD (UTC)")],
    file: Annotated[
        Path | None, typer.Option("--file", help="the provider's settlement report")
    ] = None,
    record: Annotated[
        bool, typer.Option("--record", help="keep the totals (GET /analytics/finance)")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Match a provider's settled captures, refunds, chargebacks and fees to our books."""
    start, end = parse_day(from_, "--from"), parse_day(to, "--to")
    text = None
    if file is not None:
        try:
            text = file.read_text(encoding="utf-8-sig")
        except (OSError, UnicodeDecodeError) as error:
            raise CliError(f"cannot read {file}: {type(error).__name__}") from None
    from infrastructure.reconciliation_run import ReconciliationInputError, run_reconciliation

    with connected() as container:
        services = container.services
        try:
            report = run_reconciliation(
                services.store, services.payments.gateways, provider, start, end, text, record
            )
        except ReconciliationInputError as error:
            raise CliError(str(error)) from None
    found = report.to_dict()
    if as_json:
        emit(found)
    else:
        _print(found)
    clean = not (report.missing_at_provider or report.missing_in_books or report.discrepancies)
    sys.exit(0 if clean else 1)


def _print(found: dict[str, Any]) -> None:
    typer.echo(f"{found['provider']} {found['start']} .. {found['end']}")
    typer.echo(f"  matched: {len(found['matched'])}  fees: {found['fees']}")
    for title in ("missing_at_provider", "missing_in_books", "discrepancies"):
        typer.echo(f"  {title.replace('_', ' ')}: {len(found[title])}")
        for item in found[title]:
            what = item.get("problem") or item.get("kind")
            ref = item.get("payment_id") or item.get("reference") or item.get("source_id")
            typer.echo(f"    {what} {ref} {item.get('amount')}")
    typer.echo("  totals: " + ", ".join(f"{k} {v}" for k, v in found["totals"].items()))


@sandbox_app.command("dispute")
def sandbox_dispute(
    payment_id: Annotated[str, typer.Argument(help="a captured card payment on the sandbox")],
    outcome: Annotated[str, typer.Option(help="opened | won | lost")] = "opened",
    days: Annotated[int, typer.Option(help="days left to answer (opened)", min=0)] = 7,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Play the cardholder's bank: open a dispute on a captured sandbox card payment, or end
    it won or lost (a signed sandbox webhook, applied as the HTTP route would)."""
    if outcome not in ("opened", "won", "lost"):
        raise CliError(f"--outcome must be opened, won or lost, got {outcome!r}")
    pid = parse_uuid(payment_id, "PAYMENT_ID")
    from application.gateways import gateway_named
    from infrastructure.gateways.payments.sandbox import SandboxGateway

    with connected() as container:
        payment = container.services.payments.payment(pid)
        gateway = gateway_named(container.services.payments.gateways, payment.gateway)
        if not isinstance(gateway, SandboxGateway) or payment.authorization_id is None:
            raise CliError(f"payment {pid} is not a sandbox card payment")
        due = datetime.now(UTC) + timedelta(days=days) if outcome == "opened" else None
        headers, body = gateway.dispute_webhook(
            payment.authorization_id, str(pid), payment.captured.amount, outcome, due
        )
        delivery = container.services.payments.receive_webhook("sandbox", headers, {}, body)
    if as_json:
        emit({"payment_id": str(pid), "dispute": outcome, "outcome": delivery.outcome})
    else:
        typer.echo(f"dispute {outcome} on {pid}: {delivery.outcome}")
