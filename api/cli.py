"""The `ecovarejo` command line: serve, worker, token, seed."""

from __future__ import annotations

import sys

if __name__ == "__main__" and sys.argv[1:2] == ["replay"]:
    # `python -m api.cli replay --all`: the lean path (api/cli_lean.py), before the imports
    # below; it returns only when the command is for the full CLI.
    from api.cli_lean import run_lean

    run_lean(sys.argv[2:])

import getpass
import importlib
import importlib.util
import json
import logging
import signal
import tempfile
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any, cast
from urllib.parse import parse_qs, urlsplit
from uuid import UUID

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from api.access_log import configure_logging
from api.auth import ROLES, Role, issue_token
from api.cli_lean import write_rows
from domain.base import DomainError, EventMetadata, event_context
from infrastructure.bootstrap import ConfigurationError, Container, bootstrap, jwt_secret
from infrastructure.event_log import EventLog
from infrastructure.settings import Settings

app = typer.Typer(
    help="EcoVarejo: event-sourced back end for sustainable retail.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


log = logging.getLogger("ecovarejo.cli")
HEARTBEAT = Path(tempfile.gettempdir()) / "ecovarejo-worker-alive"


class CliError(Exception):
    """A one-line error for the user; exit status 2."""


def _exit_gracefully(*_: object) -> None:
    raise SystemExit(0)


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="interface to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535)] = 8000,
    in_process_worker: Annotated[
        bool | None,
        typer.Option(
            "--worker/--no-worker",
            help="run saga, projectors and actors in this process "
            "[default: only on the embedded servers]",
        ),
    ] = None,
) -> None:
    """Run the API. With no servers configured, starts the embedded ones and runs the
    saga, projectors and actors in this process too."""
    import uvicorn

    from api.app import create_app
    from api.ops_server import OperationsServer

    configure_logging()
    # uvicorn re-raises SIGTERM after its graceful shutdown; with the default handler that
    # would kill the process before the embedded servers are stopped.
    signal.signal(signal.SIGTERM, _exit_gracefully)
    from api.cli_checks import check_port_free

    check_port_free(host, port)  # one clear line, before claiming to serve
    settings = Settings()
    container = bootstrap(settings)
    log.info("serving on %s:%s", host, port, extra=servers_of(container))
    try:
        if settings.embedded if in_process_worker is None else in_process_worker:
            container.start_processing()
        api = create_app(container)
        config = uvicorn.Config(
            api, host=host, port=port, log_config=None, access_log=False, proxy_headers=False
        )  # forwarded headers: api/middleware.py TrustedProxyMiddleware
        bind = settings.metrics_bind
        ops = OperationsServer(api, bind).start() if bind else None  # /metrics for Prometheus
        uvicorn.Server(config).run()
        if ops is not None:
            ops.stop()
    finally:
        container.close()


@app.command()
def worker() -> None:
    """Run the projectors (and the saga) for the production topology, until SIGTERM/SIGINT."""
    configure_logging()
    container = bootstrap(Settings())
    log.info("worker starting", extra=servers_of(container))
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    try:
        container.start_processing()
        typer.echo("worker running; Ctrl-C to stop")
        while not stop.wait(5):
            HEARTBEAT.touch()  # the container healthcheck looks at its age
    finally:
        container.close()


@app.command()
def token(
    sub: Annotated[str, typer.Option(help="subject: the customer id for customers")],
    role: Annotated[str, typer.Option(help="customer, admin or auditor")],
    ttl: Annotated[int, typer.Option(min=1, max=30 * 86400, help="seconds")] = 3600,
    scope: Annotated[list[str], typer.Option(help="e.g. auditor:pii (repeatable)")] = [],  # noqa: B006
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Print a signed JWT (HS256 with ECOVAREJO_JWT_SECRET) for development and tests."""
    if role not in ROLES:
        raise CliError(f"role must be one of {', '.join(ROLES)}")
    if not sub.strip():
        raise CliError("--sub must not be empty")
    settings = Settings()
    if ttl > settings.jwt_max_ttl_s:
        raise CliError(f"--ttl is over ECOVAREJO_JWT_MAX_TTL_S ({settings.jwt_max_ttl_s} s)")
    role_ = cast(Role, role)
    signed = issue_token(jwt_secret(settings), sub, role_, ttl, tuple(scope))
    if as_json:
        emit({"token": signed, "sub": sub, "role": role, "scope": scope, "expires_in": ttl})
        return
    typer.echo(signed)


@app.command()
def seed(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Load the demo catalog of sustainable products (idempotent)."""
    from application.demo_catalog import seed as load

    with connected() as container:
        added, existing = load(container.shop)
    if as_json:
        emit({"added": added, "existing": existing})
        return
    typer.echo(f"seeded {added} products ({existing} were already there)")


@app.command()
def where(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Which data dir and which servers this configuration uses (every command run on a
    terminal says so on stderr; `serve` and `worker` log it)."""
    with connected() as container:
        found = servers_of(container)
    if as_json:
        emit(found)
        return
    for key, value in found.items():
        typer.echo(f"{key:<11} {value}")


audit_app = typer.Typer(
    help="Auditors: the tamper-evidence chain and order trails.", no_args_is_help=True
)
lgpd_app = typer.Typer(help="Data-subject requests: access and erasure.", no_args_is_help=True)
app.add_typer(audit_app, name="audit")
app.add_typer(lgpd_app, name="lgpd")


def cli_actor() -> str:
    return f"system:cli:{getpass.getuser()}"


def servers_of(container: Container) -> dict[str, str]:
    """Which data dir and servers a process uses (no passwords)."""
    settings = container.settings

    def shown(url: str | None, embedded: bool) -> str:
        if embedded:
            return "embedded"
        parts = urlsplit(url or "")
        host = parts.hostname or parse_qs(parts.query).get("host", [""])[0]
        port = f":{parts.port}" if parts.port else ""
        return f"{parts.scheme}://{host}{port}{parts.path}"

    return {
        "data_dir": str(settings.data_dir.resolve()),
        "postgresql": shown(settings.database_url, settings.database_url is None),
        "redis": shown(settings.redis_url, settings.redis_url is None),
        "search": shown(settings.elasticsearch_url, False)
        if settings.elasticsearch_url
        else "postgresql full-text",
    }


def where_of(container: Container) -> str:
    found = servers_of(container)
    return f"data dir {found.pop('data_dir')}; " + ", ".join(f"{k} {v}" for k, v in found.items())


@contextmanager
def connected(*, read_only: bool = False) -> Iterator[Container]:
    """The system as configured (attaching to running embedded servers), nothing started.
    `read_only`: no DDL, no lock, small pools (commands that only read)."""
    container = bootstrap(Settings(), read_only=read_only)
    if sys.stderr.isatty():
        typer.echo(f"ecovarejo: {where_of(container)}", err=True)
    try:
        with event_context(EventMetadata(cli_actor(), f"cli:{uuid.uuid4()}", "cli")):
            yield container
    finally:
        container.close()


def parse_uuid(value: str, what: str) -> UUID:
    try:
        return UUID(value)
    except ValueError:
        raise CliError(f"{what} must be a UUID, got {value!r}") from None


def parse_instant(value: str) -> datetime:
    try:
        instant = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise CliError(f"--as-of must be an ISO 8601 instant, got {value!r}") from None
    if instant.tzinfo is None:
        raise CliError("--as-of needs a timezone, e.g. 2026-11-22T10:00:00Z")
    return instant


def emit(document: Any) -> None:
    typer.echo(json.dumps(document, ensure_ascii=False, indent=2))


@app.command()
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
    from application.audit import event_types, stream
    from application.audit import replay as replay_aggregate

    if all_ == (aggregate_id is not None):
        raise CliError("give either AGGREGATE_ID or --all")
    if as_of is not None and version is not None:
        raise CliError("give --as-of or --version, not both")
    if all_ and (as_of is not None or version is not None):
        raise CliError("--as-of and --version replay one aggregate; with --all use --since")
    if not all_ and (since or type_ is not None):
        raise CliError("--since and --type go with --all")
    if all_:
        topics: tuple[str, ...] = ()
        if type_ is not None:
            known = event_types()
            if type_ not in known:
                raise CliError(f"unknown event type {type_!r}; e.g. {', '.join(list(known)[:4])}")
            topics = (known[type_],)
        with connected(read_only=True) as container:
            rows = stream(
                container.shop.mapper,
                container.shop.recorder.select_notifications,
                since=since,
                topics=topics,
            )
            write_rows(rows, as_json)  # as the lean path writes them (api/cli_lean.py)
        return
    target = parse_uuid(str(aggregate_id), "AGGREGATE_ID")
    instant = parse_instant(as_of) if as_of else None
    with connected(read_only=True) as container:
        assert container.shop.event_log is not None
        result = replay_aggregate(
            container.shop.mapper, container.shop.event_log, target, as_of=instant, version=version
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
    with connected(read_only=True) as container:
        report = EventLog(container.database_url).verify_chain()
    if as_json:
        emit(
            {
                "ok": report.ok,
                "checked": report.checked,
                "first_bad_position": report.first_bad_position,
                "problem": report.problem,
                "globally_chained_to": report.globally_chained_to,
                "not_yet_global": report.not_yet_global,
            }
        )
    elif report.ok:
        typer.echo(
            f"ok: {report.checked} events, chain intact (global chain up to position "
            f"{report.globally_chained_to}; {report.not_yet_global} newer events not chained "
            "yet: a worker chains them within about a second)"
        )
    else:
        typer.echo(
            f"BROKEN at position {report.first_bad_position}: {report.problem} "
            f"({report.checked} events verified before it)"
        )
    if not report.ok:
        raise typer.Exit(1)


@audit_app.command("trail")
def audit_trail(order_id: str, as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """An order's saga: every step and compensation, with actor and cause."""
    from application.audit import trail

    target = parse_uuid(order_id, "ORDER_ID")
    with connected() as container:
        assert container.shop.event_log is not None
        steps = trail(container.shop.mapper, container.shop.event_log, target)
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
        emit(container.shop.export_personal_data(customer_id, cli_actor()))


@lgpd_app.command("erase")
def lgpd_erase(
    customer_id: str,
    yes: Annotated[bool, typer.Option("--yes", help="confirm without asking")] = False,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Crypto-shred a customer's personal data (idempotent). Irreversible: asks on a
    terminal; elsewhere needs --yes."""
    from api.cli_checks import confirm_irreversible

    confirm_irreversible(f"erasing the personal data of {customer_id}", yes)
    with connected() as container:
        erasure = container.shop.erase_personal_data(customer_id, cli_actor())
    if as_json:
        emit({"customer_id": erasure.customer_id, "status": erasure.status})
        return
    typer.echo(erasure.message)


projections_app = typer.Typer(
    help="Analysts and operators: read-model status and rebuilds.", no_args_is_help=True
)
app.add_typer(projections_app, name="projections")


@projections_app.command("status")
def projections_status(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Each follower of the log: position, head, lag, runner state, parked events."""
    from infrastructure.followers import runner_of
    from infrastructure.projection_admin import statuses
    from infrastructure.runners import lease_holders

    with connected(read_only=True) as container:
        found = statuses(container)
        # Leases are held per runner (the four Redis read models share one).
        held = lease_holders(container.database_url, sorted({runner_of(s.name) for s in found}))
        owners = {s.name: held[runner_of(s.name)] for s in found if runner_of(s.name) in held}
    if as_json:
        emit([{**s.as_dict(), "owner": owners.get(s.name)} for s in found])
        return
    table = Table()
    for column in ("follower", "kind", "generation", "position", "head", "to process"):
        table.add_column(column, no_wrap=True, overflow="fold")
    table.add_column("state")
    table.add_column("owner", overflow="fold")
    table.add_column("parked")
    for s in found:
        table.add_row(
            s.name,
            s.kind,
            s.generation or "-",
            str(s.position),
            str(s.head),
            str(s.lag),
            s.state,
            owners.get(s.name, "-"),
            str(len(s.parked)),
        )
    # Never cut a name: off a terminal, as wide as the table needs.
    Console(width=None if sys.stdout.isatty() else 250).print(table)
    typer.echo(
        "to process: events after the position that the follower still has to handle; "
        "read models follow every event (head - position), the saga and effects only the "
        "event types they react to, so theirs can be 0 while position < head."
    )
    for s in found:
        for parked in s.parked:
            typer.echo(
                f"parked in {s.name}: position {parked['position']} "
                f"({parked['type']}): {parked['error']}"
            )


@projections_app.command("rebuild")
def projections_rebuild(
    name: Annotated[str | None, typer.Argument(help="a projection name")] = None,
    all_: Annotated[bool, typer.Option("--all", help="rebuild every projection")] = False,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Replay the log into a new generation and swap it in; reads go on meanwhile."""
    from infrastructure.bootstrap import REBUILDABLE
    from infrastructure.projection_admin import rebuild_many

    if all_ == (name is not None):
        raise CliError("give a projection NAME or --all")
    names = list(REBUILDABLE) if all_ else [str(name)]
    unknown = [n for n in names if n not in REBUILDABLE]
    if unknown:
        raise CliError(f"unknown projection {unknown[0]!r}; known: {', '.join(REBUILDABLE)}")
    with connected() as container:
        show = sys.stdout.isatty() and not as_json
        with Progress(disable=not show, transient=True) as bar:
            task = bar.add_task(f"rebuilding {', '.join(names)}", total=None)

            def advance(position: int, head: int) -> None:
                bar.update(task, completed=position, total=head)

            reports = rebuild_many(container, names, advance)  # one pass over the log
    if as_json:
        emit([r.as_dict() for r in reports] if all_ else reports[0].as_dict())
        return
    for r in reports:
        typer.echo(
            f"{r.projection}: {r.events} events in {r.seconds:.2f}s "
            f"({r.events_per_s:,.0f}/s), now generation {r.generation}"
        )


analytics_app = typer.Typer(
    help="Analysts: sales, CO2, top products, customers who consent.", no_args_is_help=True
)
app.add_typer(analytics_app, name="analytics")
ANALYTICS = {"sales": ("day", "category"), "co2": ("order", "category")}


def _analytics(kind: str, limit: int, as_json: bool) -> None:
    with connected() as container:
        found = container.readers.analytics.rows(kind, limit)
    if as_json:
        emit(found)
        return
    if not found:
        typer.echo(EMPTY_ANALYTICS.get(kind, "no data yet"))
    for row in found:
        typer.echo("  ".join(f"{k}={v}" for k, v in row.items()))


EMPTY_ANALYTICS = {
    "finance": "no reconciliation recorded yet (ecovarejo finance reconcile --record)",
    "customer": "no customer consenting to analytics has a confirmed order yet",
    "product": "no product sold yet",
}


@analytics_app.command("sales")
def analytics_sales(
    by: Annotated[str, typer.Option(help="day or category")] = "day",
    limit: Annotated[int, typer.Option(min=1, max=1000)] = 100,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Confirmed sales per day or per category."""
    if by not in ANALYTICS["sales"]:
        raise CliError("--by must be day or category")
    _analytics(f"sales:{by}", limit, as_json)


@analytics_app.command("co2")
def analytics_co2(
    by: Annotated[str, typer.Option(help="order or category")] = "category",
    limit: Annotated[int, typer.Option(min=1, max=1000)] = 100,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Carbon footprint of confirmed sales per order or per category."""
    if by not in ANALYTICS["co2"]:
        raise CliError("--by must be order or category")
    _analytics(f"co2:{by}", limit, as_json)


@analytics_app.command("top-products")
def analytics_top_products(
    limit: Annotated[int, typer.Option(min=1, max=1000)] = 10,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Products by units sold."""
    _analytics("product", limit, as_json)


@analytics_app.command("customers")
def analytics_customers(
    limit: Annotated[int, typer.Option(min=1, max=1000)] = 100,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Per customer, only those who consent to analytics (orders confirmed while it held)."""
    _analytics("customer", limit, as_json)


def _register_modules() -> None:
    """Commands that live in their own modules (they import this one)."""
    import api.cli_embedded  # stop
    import api.cli_ops  # noqa: F401  backup, restore
    from api import (
        cli_catalog,  # noqa: F401  catalog import/export
        cli_finance,  # noqa: F401  finance reconcile
        cli_promotions,  # noqa: F401  promotions
        cli_sandbox,  # noqa: F401  sandbox pay
    )
    from api.cli_privacy import install as install_privacy  # keys, marketing, lgpd requests

    install_privacy(app, lgpd_app)
    from api.cli_accounts import install as install_accounts  # users, mail, rotate-signing
    from api.cli_privacy import keys_app

    install_accounts(app, keys_app)


# Usage errors come from click, which recent typer versions vendor as typer._click.
USAGE: Any = importlib.import_module(
    "typer._click.exceptions" if importlib.util.find_spec("typer._click") else "click.exceptions"
)


def main() -> None:
    _register_modules()
    try:
        code = app(standalone_mode=False)
    except USAGE.NoArgsIsHelpError as e:
        typer.echo(e.ctx.get_help() if e.ctx else str(e))
        sys.exit(0)
    except USAGE.UsageError as e:  # also unknown options, bad values, missing arguments
        where = f"; see `{e.ctx.command_path} --help`" if e.ctx else ""
        typer.echo(f"error: {e.format_message()}{where}", err=True)
        sys.exit(2)
    except typer.Abort:
        sys.exit(130)
    except (CliError, DomainError, ConfigurationError) as e:
        typer.echo(f"error: {e}", err=True)
        sys.exit(2)
    except ValidationError as e:
        first = e.errors()[0]
        typer.echo(f"error: invalid configuration {first['loc']}: {first['msg']}", err=True)
        sys.exit(2)
    except KeyboardInterrupt:
        sys.exit(130)
    sys.exit(code if isinstance(code, int) else 0)


if __name__ == "__main__":
    # `python -m api.cli`: run the imported module, on which command modules register.
    from api import cli

    cli.main()
