"""`ecovarejo keys ...` (the master key) and the LGPD request log (`ecovarejo lgpd requests`).

Registered by `api/cli.py` through `install`. Self-contained (it does not import `api.cli`,
which runs as `__main__` under `python -m api.cli`): errors are a one-line message, exit 2.
"""

from __future__ import annotations

import getpass
import json
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer

from domain.base import EventMetadata, event_context
from infrastructure.bootstrap import Container, bootstrap
from infrastructure.master_key import MasterKeyError, master_key_of, rotate
from infrastructure.settings import Settings


def fail(message: str) -> NoReturn:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(2)


def emit(document: Any) -> None:
    typer.echo(json.dumps(document, ensure_ascii=False, indent=2))


def cli_actor() -> str:
    return f"system:cli:{getpass.getuser()}"


@contextmanager
def connected() -> Iterator[Container]:
    container = bootstrap(Settings())
    try:
        with event_context(EventMetadata(cli_actor(), f"cli:{uuid.uuid4()}", "cli")):
            yield container
    finally:
        container.close()


keys_app = typer.Typer(
    help="The master key that wraps every customer's data key.", no_args_is_help=True
)


@keys_app.command("generate")
def keys_generate() -> None:
    """Print a new random master key (for ECOVAREJO_MASTER_KEY or `rotate --new-key-file`)."""
    from infrastructure.keys import generate_master_key

    typer.echo(generate_master_key())


@keys_app.command("rotate")
def keys_rotate(
    new_key_file: Annotated[
        Path | None,
        typer.Option(help="file holding the new key [default: generate one into the data dir]"),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Re-wrap every data key under a new master key, in one transaction. A wrong current
    key changes nothing. Afterwards destroy the old key: dumps and backups taken before
    the rotation cannot be opened without it."""
    new_text = None
    if new_key_file is not None:
        try:
            new_text = new_key_file.read_text()
        except OSError as e:
            fail(f"cannot read --new-key-file: {e.strerror}")
    settings = Settings()
    with connected() as container:  # refuses a current key that is not the one on record
        try:
            done = rotate(container.database_url, master_key_of(settings), new_text)
        except MasterKeyError as e:
            fail(str(e))
    if as_json:
        emit(
            {
                "keys": done.keys,
                "old_master_key_id": done.old_id,
                "new_master_key_id": done.new_id,
                "new_key_path": str(done.new_key_path) if done.new_key_path else None,
            }
        )
        return
    where = (
        f"the new key replaced {done.new_key_path}"
        if done.new_key_path
        else "set ECOVAREJO_MASTER_KEY to the new key and restart every process"
    )
    typer.echo(
        f"re-wrapped {done.keys} data keys: master key {done.old_id} -> {done.new_id}; "
        f"{where}; now destroy every copy of the old key"
    )


def install(app: typer.Typer, lgpd_app: typer.Typer) -> None:
    if any(group.typer_instance is keys_app for group in app.registered_groups):
        return  # installed already
    app.add_typer(keys_app, name="keys")
