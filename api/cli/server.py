"""`ecovarejo serve`, `worker`, `migrate`, `token`, `seed` and `where`: running the system."""

from __future__ import annotations

import logging
import signal
import tempfile
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, cast

import typer

from api.cli.common import CliError, Commands, connected, emit, servers_of

if TYPE_CHECKING:
    from api.http.auth import Role

commands = Commands()
log = logging.getLogger("ecovarejo.cli")
HEARTBEAT = Path(tempfile.gettempdir()) / "ecovarejo-worker-alive"


def _exit_gracefully(*_: object) -> None:
    raise SystemExit(0)


@commands.command()
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

    from api.http.access_log import configure_logging
    from api.http.app import create_app
    from api.http.ops_server import OperationsServer
    from infrastructure.bootstrap import bootstrap
    from infrastructure.runtime.allocator import keep_memory_flat
    from infrastructure.settings import Settings

    trimmer = keep_memory_flat()  # before any thread: see infrastructure/runtime/allocator.py
    configure_logging()
    # uvicorn re-raises SIGTERM after its graceful shutdown; with the default handler that
    # would kill the process before the embedded servers are stopped.
    signal.signal(signal.SIGTERM, _exit_gracefully)
    from api.cli.checks import check_port_free

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
        )  # forwarded headers: api/http/middleware.py TrustedProxyMiddleware
        bind = settings.metrics_bind
        ops = OperationsServer(api, bind).start() if bind else None  # /metrics for Prometheus
        uvicorn.Server(config).run()
        if ops is not None:
            ops.stop()
    finally:
        container.close()
        trimmer.stop()


@commands.command()
def worker() -> None:
    """Run the projectors (and the saga) for the production topology, until SIGTERM/SIGINT."""
    from api.http.access_log import configure_logging
    from infrastructure.bootstrap import bootstrap
    from infrastructure.runtime.allocator import keep_memory_flat
    from infrastructure.settings import Settings

    trimmer = keep_memory_flat()
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
        trimmer.stop()


@commands.command()
def migrate(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Set the store up: tables, triggers and the hash chain (infrastructure/store/setup.py), the
    master key checked, erasures of the erasure ledger applied again. `serve` and `worker`
    do the same at start; idempotent."""
    with connected() as container:  # a writing bootstrap runs the setup, under its lock
        head = container.head_position()
    if as_json:
        emit({"migrated": True, "head": head})
        return
    typer.echo(f"store ready: tables, triggers and the hash chain in place ({head} events)")


@commands.command()
def token(
    sub: Annotated[str, typer.Option(help="subject: the customer id for customers")],
    role: Annotated[str, typer.Option(help="customer, admin or auditor")],
    ttl: Annotated[int, typer.Option(min=1, max=30 * 86400, help="seconds")] = 3600,
    scope: Annotated[list[str], typer.Option(help="e.g. auditor:pii (repeatable)")] = [],  # noqa: B006
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Print a signed JWT (HS256 with ECOVAREJO_JWT_SECRET) for development and tests."""
    from api.http.auth import ROLES, issue_token
    from infrastructure.configuration import jwt_secret  # not the wiring: a token needs none
    from infrastructure.settings import Settings

    if role not in ROLES:
        raise CliError(f"role must be one of {', '.join(ROLES)}")
    if not sub.strip():
        raise CliError("--sub must not be empty")
    settings = Settings()
    if ttl > settings.jwt_max_ttl_s:
        raise CliError(f"--ttl is over ECOVAREJO_JWT_MAX_TTL_S ({settings.jwt_max_ttl_s} s)")
    role_ = cast("Role", role)
    signed = issue_token(jwt_secret(settings), sub, role_, ttl, tuple(scope))
    if as_json:
        emit({"token": signed, "sub": sub, "role": role, "scope": scope, "expires_in": ttl})
        return
    typer.echo(signed)


@commands.command()
def seed(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Load the demo catalog of sustainable products (idempotent)."""
    from application.demo_catalog import seed as load

    with connected() as container:
        added, existing = load(container.services)
    if as_json:
        emit({"added": added, "existing": existing})
        return
    typer.echo(f"seeded {added} products ({existing} were already there)")


@commands.command()
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
