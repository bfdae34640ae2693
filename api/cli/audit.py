"""`ecovarejo replay`, `audit verify|trail` and `lgpd export|erase`: auditors and
data-subject requests (`lgpd requests` is in api/cli/privacy.py)."""

from __future__ import annotations

from typing import Annotated

import typer

from api.cli.common import CliError, Commands, cli_actor, connected, emit, parse_instant, parse_uuid
from api.cli.rows import write_rows

commands = Commands()
audit_app = typer.Typer(
    help="Auditors: the tamper-evidence chain and order trails.", no_args_is_help=True
)
lgpd_app = typer.Typer(help="Data-subject requests: access and erasure.", no_args_is_help=True)


@commands.command()
def replay(
    aggregate_id: Annotated[str | None, typer.Argument(help="the aggregate to replay")] = None,
    all_: Annotated[bool, typer.Option("--all", help="stream the whole log")] = False,
    as_of: Annotated[str | None, typer.Option(help="ISO 8601 instant")] = None,
    version: Annotated[int | None, typer.Option(min=1)] = None,
    since: Annotated[int, typer.Option(min=0, help="with --all: after this position")] = 0,
    type_: Annotated[
        str | None, typer.Option("--type", help="with --all: e.g. Order.Placed")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """An aggregate's events and its state at a point; or, with --all, the whole log."""
    if all_ == (aggregate_id is not None):
        raise CliError("give either AGGREGATE_ID or --all")
    if as_of is not None and version is not None:
        raise CliError("give --as-of or --version, not both")
    if all_ and (as_of is not None or version is not None):
        raise CliError("--as-of and --version replay one aggregate; with --all use --since")
    if not all_ and (since or type_ is not None):
        raise CliError("--since and --type go with --all")
    if all_:
        from application.audit import event_types, stream

        topics: tuple[str, ...] = ()
        if type_ is not None:
            known = event_types()
            if type_ not in known:
                raise CliError(f"unknown event type {type_!r}; e.g. {', '.join(list(known)[:4])}")
            topics = (known[type_],)
        from infrastructure.runtime.collector import fewer_collections
        from infrastructure.store.event_store import notification_rows

        with connected(read_only=True) as container:
            rows = stream(
                container.services.store.mapper,
                notification_rows(container.services.store.recorder),
                since=since,
                topics=topics,
            )
            with fewer_collections():  # as the lean path writes them (api/cli/lean.py)
                write_rows(rows, as_json)
        return
    target = parse_uuid(str(aggregate_id), "AGGREGATE_ID")
    instant = parse_instant(as_of) if as_of else None
    from application.audit import replay as replay_aggregate

    with connected(read_only=True) as container:
        assert container.services.event_log is not None
        result = replay_aggregate(
            container.services.store.mapper,
            container.services.event_log,
            target,
            as_of=instant,
            version=version,
        )
    if as_json:
        emit({"events": result.events, "state": result.state})
        return
    for event in result.events:
        typer.echo(
            f"{event['position']:>8} v{event['version']:<4} {event['timestamp']} "
            f"{event['type']:<26} {event['actor']}"
            + (
                f"  (stored as v{event['stored']['class_version']}, "
                f"read as v{event['read_as_version']})"
                if "stored" in event
                else ""
            )
        )
    typer.echo("state:")
    emit(result.state)


@audit_app.command("verify")
def audit_verify(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Recompute the stream links and the global chain; exit 1 naming the first bad position."""
    from application.operations.chain import verify_chain
    from infrastructure.store.event_log import EventLog

    with connected(read_only=True) as container:
        report = verify_chain(EventLog(container.database_url))
    if as_json:
        emit(report.as_dict())
    else:
        typer.echo(report.summary())
    if not report.ok:
        raise typer.Exit(1)


@audit_app.command("trail")
def audit_trail(order_id: str, as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """An order's saga: every step and compensation, with actor and cause."""
    from application.audit import trail

    target = parse_uuid(order_id, "ORDER_ID")
    with connected() as container:
        assert container.services.event_log is not None
        steps = trail(container.services.store.mapper, container.services.event_log, target)
    if as_json:
        emit(steps)
        return
    for step in steps:
        mark = "↩ " if step["compensation"] else "  "
        typer.echo(
            f"{step['position']:>8} {step['timestamp'][:19].replace('T', ' ')}Z "
            f"{mark}{step['type']:<24} by {step['actor']:<34} "
            f"caused by {step['causation_id'] or '-'}"
        )
    if steps:
        typer.echo("(position, time in UTC; ↩ marks a compensation: a step undone)")


@lgpd_app.command("export")
def lgpd_export(
    customer_id: str,
    as_json: Annotated[bool, typer.Option("--json", help="(always JSON)")] = True,
) -> None:
    """Everything held about a customer, decrypted, as JSON (the request is recorded)."""
    with connected() as container:
        emit(container.services.data_subjects.export_personal_data(customer_id, cli_actor()))


@lgpd_app.command("erase")
def lgpd_erase(
    customer_id: str,
    yes: Annotated[bool, typer.Option("--yes", help="confirm without asking")] = False,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Crypto-shred a customer's personal data (idempotent). Irreversible: asks on a
    terminal; elsewhere needs --yes."""
    from api.cli.checks import confirm_irreversible

    confirm_irreversible(f"erasing the personal data of {customer_id}", yes)
    with connected() as container:
        erasure = container.services.data_subjects.erase_personal_data(customer_id, cli_actor())
    if as_json:
        emit({"customer_id": erasure.customer_id, "status": erasure.status})
        return
    typer.echo(erasure.message)
