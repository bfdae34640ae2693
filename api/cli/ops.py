"""Operators' commands: `ecovarejo backup FILE` and `ecovarejo restore FILE [--force]`."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from api.cli.common import CliError, Commands, connected, emit

if TYPE_CHECKING:
    from infrastructure.settings import Settings

commands = Commands()


@commands.command("backup")
def backup_command(
    file: Annotated[Path, typer.Argument(help="the backup file to write (must not exist)")],
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Back up the event store, the hash chain and the key store, consistently, to FILE.
    Read models are not backed up: restore rebuilds them. Neither the master key nor the
    erasure ledger is in the backup: the output says what must be kept with it."""
    from api.cli.checks import check_parent_exists

    check_parent_exists(file)
    from infrastructure.keys.custody import custody_of, ensure_ledger
    from infrastructure.keys.wrappers import key_wrapper_of
    from infrastructure.store.backup import BackupError, backup

    with connected() as container:
        ensure_ledger(container.settings.erasure_ledger_path)  # the ledger is on record
        try:
            report = backup(container.database_url, file)
        except BackupError as e:
            raise CliError(str(e)) from None
        custody = custody_of(container.settings)
        key_id = key_wrapper_of(container.settings).key_id
    if as_json:
        emit({**report.as_dict(), "keep_with_it": custody.as_dict(key_id)})
        return
    rows = ", ".join(f"{t} {n}" for t, n in report.tables.items())
    typer.echo(f"backed up {report.head} events to {file} ({report.bytes:,} bytes): {rows}")
    if report.chain:
        typer.echo(f"chain head: position {report.chain['position']}, link {report.chain['link']}")
    for line in custody.lines(key_id):
        typer.echo(line)


@commands.command("restore")
def restore_command(
    file: Annotated[Path, typer.Argument(help="a file written by `ecovarejo backup`")],
    force: Annotated[
        bool, typer.Option("--force", help="replace a system that already holds events")
    ] = False,
    without_erasure_ledger: Annotated[
        bool,
        typer.Option(
            "--without-erasure-ledger",
            help="restore although no erasure ledger is on record: every erasure made after "
            "the backup was taken is undone (the subjects' data readable again)",
        ),
    ] = False,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Restore FILE into this system (empty, or replaced with --force), re-apply every
    erasure of the erasure ledger (keys destroyed, the erasure recorded again), rebuild every
    read model and verify the hash chain. Stop the API and workers first. Bring the master
    key and the newest erasure ledger of the system backed up (`ecovarejo backup` says)."""
    if not file.is_file():
        raise CliError(f"{file} does not exist")
    from infrastructure.keys.custody import ensure_ledger
    from infrastructure.keys.data_keys import MASTER_KEY_FILE
    from infrastructure.settings import Settings
    from infrastructure.store.backup import BackupError, read_manifest

    try:
        read_manifest(file)
    except BackupError as e:
        raise CliError(str(e)) from None
    settings = Settings()
    ledger = settings.erasure_ledger_path
    if not ledger.exists() and not without_erasure_ledger:
        raise CliError(
            f"no erasure ledger at {ledger}: without it, erasures made after this backup "
            "would be undone; copy the newest ledger of the system backed up there (or set "
            "ECOVAREJO_ERASURE_LEDGER), or give --without-erasure-ledger to restore anyway; "
            "nothing changed"
        )
    key_file = settings.data_dir / MASTER_KEY_FILE
    made_key = (
        settings.key_wrapper == "local" and settings.master_key is None and not key_file.exists()
    )
    committed: list[bool] = []
    try:
        result = _restore(file, force, settings, made_key, committed)
    except BaseException:
        if made_key and not committed:  # made by this run for a restore that did not happen
            key_file.unlink(missing_ok=True)
        raise
    result["without_erasure_ledger"] = without_erasure_ledger and not ledger.exists()
    ensure_ledger(ledger)  # from now on, this system's erasures are on record
    _report(file, result, as_json)


def _restore(
    file: Path, force: bool, settings: Settings, made_key: bool, committed: list[bool]
) -> dict[str, Any]:
    from application.operations.backup import RestoreRefusedError, restore_backup
    from infrastructure.store.backup import BackupError, MasterKeyMismatchError, SystemRestore

    with connected() as container:
        try:
            return restore_backup(
                SystemRestore(container),
                file,
                force=force,
                on_committed=lambda: committed.append(True),
            )
        except RestoreRefusedError as e:
            raise CliError(str(e)) from None
        except MasterKeyMismatchError as e:
            if made_key:
                raise CliError(
                    f"{settings.data_dir} has no master key (the backup's data keys are "
                    f"wrapped by master key {e.on_record}): copy the master-key file of the "
                    "system backed up there, or set ECOVAREJO_MASTER_KEY; nothing changed"
                ) from None
            raise CliError(str(e)) from None
        except BackupError as e:
            raise CliError(str(e)) from None


def _report(file: Path, result: dict[str, Any], as_json: bool) -> None:
    if as_json:
        emit(result)
    else:
        typer.echo(
            f"restored {result['head']} events from {file} (taken {result['backup_created_at']}"
            f"); re-applied {result['erasures_reapplied']} erasures (of "
            f"{result['erasures_on_record']} in the erasure ledger; "
            f"{result['erasures_completed']} recorded again); rebuilt "
            f"{', '.join(result['rebuilt'])}; chain "
            + ("intact" if result["chain_ok"] else f"BROKEN at {result['first_bad_position']}")
        )
        if result["without_erasure_ledger"]:
            typer.echo(
                "restored WITHOUT an erasure ledger: erasures made after the backup are undone"
            )
    if not result["chain_ok"]:
        raise typer.Exit(1)
