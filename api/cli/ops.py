"""Operators' commands: `ecovarejo backup FILE` and `ecovarejo restore FILE [--force]`."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated, Any

import typer

from api.cli.common import CliError, Commands, connected, emit
from application.lgpd import complete_erasures
from application.operations.chain import verify_chain
from infrastructure.backup import (
    BackupError,
    MasterKeyMismatchError,
    backup,
    is_empty,
    read_manifest,
    restore,
)
from infrastructure.event_log import EventLog
from infrastructure.key_custody import custody_of, ensure_ledger
from infrastructure.keys import MASTER_KEY_FILE
from infrastructure.settings import Settings

commands = Commands()
LIVE_S = 15.0  # a runner heartbeat this recent means a worker or API is processing


def _refuse_if_processing(container: Any) -> None:
    from infrastructure.followers import RUNNERS
    from infrastructure.projection_admin import runner_status

    for name in RUNNERS:  # runners publish their status under the registry's runner names
        status = runner_status(container.redis, name)
        if status.get("state") == "running" and time.time() - status.get("updated_at", 0) < LIVE_S:
            raise CliError(
                f"{name} is running on {status.get('host')}: stop the API and workers first"
            )


@commands.command("backup")
def backup_command(
    file: Annotated[Path, typer.Argument(help="the backup file to write (must not exist)")],
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Back up the event store, the hash chain and the key store, consistently, to FILE.
    Read models are not backed up: restore rebuilds them. Neither the master key nor the
    erasure ledger is in the backup: the output says what must be kept with it."""
    from api.cli.checks import check_parent_exists
    from infrastructure.key_wrappers import key_wrapper_of

    check_parent_exists(file)
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
    from application.operations.read_side import rebuild
    from infrastructure.bootstrap import REBUILDABLE
    from infrastructure.erasure_ledger import ErasureLedger
    from infrastructure.key_wrappers import key_wrapper_of

    with connected() as container:
        _refuse_if_processing(container)
        if not force and not is_empty(container.database_url):
            raise CliError(
                "this system already holds events; restore into an empty one, "
                "or give --force to replace it"
            )
        _ = container.services.store.keys  # the key store's table exists before rows go into it
        erased = ErasureLedger(container.settings.erasure_ledger_path).entries()
        try:
            manifest = restore(
                container.database_url,
                file,
                force=force,
                master_key_id=key_wrapper_of(container.settings).key_id,
                erased=erased,
            )
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
        committed.append(True)
        completed = complete_erasures(
            container.services.data_subjects, [entry.subject for entry in erased]
        )
        reports = rebuild(container.read_side, list(REBUILDABLE))
        rebuilt = {r.projection: r.events for r in reports}
        log = EventLog(container.database_url)
        log.extend_chain_fully()  # events the backup held but had not chained yet
        report = verify_chain(log)
    return {
        "restored": str(file),
        "backup_created_at": manifest["created_at"],
        "head": manifest["head"],
        "tables": {t: spec["rows"] for t, spec in manifest["tables"].items()},
        "rebuilt": rebuilt,
        "erasures_reapplied": manifest["erasures_reapplied"],
        "erasures_on_record": len(erased),
        "erasures_completed": len(completed),
        "chain_ok": report.ok,
        "chain_checked": report.checked,
        "first_bad_position": report.first_bad_position,
    }


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
