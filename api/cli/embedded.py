"""`ecovarejo stop`: stop the embedded PostgreSQL and Redis of the data dir, e.g. the ones a
crashed `serve` left running. Refused while a process still uses them (unless --force)."""

from __future__ import annotations

import warnings
from typing import Annotated

import typer

from api.cli.common import CliError, Commands, emit

commands = Commands()


@commands.command()
def stop(
    force: Annotated[
        bool, typer.Option("--force", help="stop them even while a process uses them")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Stop the embedded servers of ECOVAREJO_DATA_DIR (cleanly: PostgreSQL fast shutdown,
    Redis SHUTDOWN SAVE)."""
    from infrastructure.runtime.embedded import EmbeddedServersBusyError, stop_servers
    from infrastructure.settings import Settings

    data_dir = Settings().data_dir
    try:
        with warnings.catch_warnings():  # platformdirs: "XDG_RUNTIME_DIR is not set"
            warnings.filterwarnings("ignore", message=".*XDG_RUNTIME_DIR.*")
            stopped = stop_servers(data_dir, force=force)
    except EmbeddedServersBusyError as e:
        raise CliError(str(e)) from None
    if as_json:
        emit({"data_dir": str(data_dir), "stopped": stopped})
    elif stopped:
        typer.echo(f"stopped {' and '.join(stopped)} of {data_dir}")
    else:
        typer.echo(f"no embedded server was running on {data_dir}")
