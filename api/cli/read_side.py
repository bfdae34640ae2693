"""`ecovarejo projections status|rebuild` and `ecovarejo analytics ...`: the read side."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from api.cli.common import CliError, connected, emit

projections_app = typer.Typer(
    help="Analysts and operators: read-model status and rebuilds.", no_args_is_help=True
)


@projections_app.command("status")
def projections_status(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Each follower of the log: position, head, lag, runner state, parked events."""
    from application.operations.read_side import status
    from infrastructure.runtime.followers import runner_of
    from infrastructure.runtime.runners import lease_holders

    with connected(read_only=True) as container:
        found = status(container.read_side)
        # Leases are held per runner (the four Redis read models share one).
        held = lease_holders(container.database_url, sorted({runner_of(s.name) for s in found}))
        owners = {s.name: held[runner_of(s.name)] for s in found if runner_of(s.name) in held}
    if as_json:
        emit([{**s.as_dict(), "owner": owners.get(s.name)} for s in found])
        return
    from rich.console import Console
    from rich.table import Table

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
    if all_ == (name is not None):
        raise CliError("give a projection NAME or --all")
    from application.operations.read_side import check_rebuildable, rebuild
    from infrastructure.runtime.collector import fewer_collections
    from infrastructure.runtime.followers import READ_MODELS  # the registry, not the wiring

    rebuildable = tuple(READ_MODELS)  # infrastructure.bootstrap.REBUILDABLE
    names = list(rebuildable) if all_ else [str(name)]
    check_rebuildable(names, rebuildable)  # before connecting: a one-line error, exit 2
    from rich.progress import Progress

    with connected() as container:
        show = sys.stdout.isatty() and not as_json
        with Progress(disable=not show, transient=True) as bar:
            task = bar.add_task(f"rebuilding {', '.join(names)}", total=None)

            def advance(position: int, head: int) -> None:
                bar.update(task, completed=position, total=head)

            # This process does nothing else: cycle collection every few hundred rows
            # costs 2-3 µs an event (infrastructure/runtime/collector.py). Not in a
            # server (the console's rebuild), where it would hold off every thread's.
            with fewer_collections():
                reports = rebuild(container.read_side, names, advance)  # one pass over the log
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


@analytics_app.command("finance")
def analytics_finance(
    limit: Annotated[int, typer.Option(min=1, max=1000)] = 100,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Per provider and period: gross, refunds, chargebacks, fees and net the provider
    settled (recorded by `finance reconcile --record`), as GET /api/v1/analytics/finance."""
    _analytics("finance", limit, as_json)
