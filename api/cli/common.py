"""What every CLI command module shares: the one-line error, JSON output, the connection to
the system, argument parsing, and `Commands` (a module's top-level commands, installed on the
root app by `api/cli/root.py`). Imports no other CLI module: the sub-apps import this one and
`main` imports them, so there is no cycle.

Light on purpose, as is every module of this package at import: `--help`, a usage error or a
bad argument answer without the system (`connected` imports the wiring when a command needs
it; tests/unit/test_cli_lean_start.py keeps it so)."""

from __future__ import annotations

import getpass
import json
import sys
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import TYPE_CHECKING, Any, NoReturn
from urllib.parse import parse_qs, urlsplit
from uuid import UUID

import typer

if TYPE_CHECKING:
    from infrastructure.bootstrap import Container


class CliError(Exception):
    """A one-line error for the user; exit status 2."""


def fail(message: str) -> NoReturn:
    """The one-line error, at once (for commands run without `main`'s handler too)."""
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(2)


Command = Callable[..., Any]


class Commands:
    """A module's top-level commands (`ecovarejo serve`, `ecovarejo backup`...), declared
    without the root app and installed on it by `api/cli/root.py`."""

    def __init__(self) -> None:
        self._commands: list[tuple[str | None, Command]] = []

    def command(
        self, name: str | None = None
    ) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        def register(function: Callable[..., Any]) -> Callable[..., Any]:
            self._commands.append((name, function))
            return function

        return register

    def install(self, app: typer.Typer) -> None:
        for name, function in self._commands:
            app.command(name)(function)


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
    from domain.base import EventMetadata, event_context
    from infrastructure.bootstrap import bootstrap
    from infrastructure.settings import Settings

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
