"""Operators' commands: `ecovarejo backup FILE` and `ecovarejo restore FILE [--force]`."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated, Any

import typer

from api.cli import CliError, app, connected, emit
from infrastructure.backup import BackupError, backup, is_empty, read_manifest, restore
from infrastructure.event_log import EventLog

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


@app.command("backup")
def backup_command(
    file: Annotated[Path, typer.Argument(help="the backup file to write (must not exist)")],
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Back up the event store, the hash chain and the key store, consistently, to FILE.
    Read models are not backed up: restore rebuilds them."""
    with connected() as container:
        try:
            report = backup(container.database_url, file)
        except BackupError as e:
            raise CliError(str(e)) from None
    if as_json:
        emit(report.as_dict())
        return
    rows = ", ".join(f"{t} {n}" for t, n in report.tables.items())
    typer.echo(f"backed up {report.head} events to {file} ({report.bytes:,} bytes): {rows}")


@app.command("restore")
def restore_command(
    file: Annotated[Path, typer.Argument(help="a file written by `ecovarejo backup`")],
    force: Annotated[
        bool, typer.Option("--force", help="replace a system that already holds events")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Restore FILE into this system (empty, or replaced with --force), rebuild every read
    model and verify the hash chain. Stop the API and workers first."""
    from infrastructure.bootstrap import REBUILDABLE
    from infrastructure.erasure_ledger import ErasureLedger
    from infrastructure.key_wrappers import key_wrapper_of
    from infrastructure.projection_admin import rebuild_many

    if not file.is_file():
        raise CliError(f"{file} does not exist")
    try:
        read_manifest(file)
    except BackupError as e:
        raise CliError(str(e)) from None
    with connected() as container:
        _refuse_if_processing(container)
        if not force and not is_empty(container.database_url):
            raise CliError(
                "this system already holds events; restore into an empty one, "
                "or give --force to replace it"
            )
        _ = container.shop.keys  # the key store's table exists before rows go into it
        erased = ErasureLedger(container.settings.erasure_ledger_path).entries()
        try:
            manifest = restore(
                container.database_url,
                file,
                force=force,
                master_key_id=key_wrapper_of(container.settings).key_id,
                erased=erased,
            )
        except BackupError as e:
            raise CliError(str(e)) from None
        rebuilt = {r.projection: r.events for r in rebuild_many(container, list(REBUILDABLE))}
        log = EventLog(container.database_url)
        log.extend_chain_fully()  # events the backup held but had not chained yet
        report = log.verify_chain()
    result = {
        "restored": str(file),
        "backup_created_at": manifest["created_at"],
        "head": manifest["head"],
        "tables": {t: spec["rows"] for t, spec in manifest["tables"].items()},
        "rebuilt": rebuilt,
        "erasures_reapplied": manifest["erasures_reapplied"],
        "erasures_on_record": len(erased),
        "chain_ok": report.ok,
        "chain_checked": report.checked,
    }
    if as_json:
        emit(result)
    else:
        typer.echo(
            f"restored {manifest['head']} events from {file} (taken {manifest['created_at']}); "
            f"re-applied {manifest['erasures_reapplied']} erasures (of {len(erased)} in the "
            f"erasure ledger); rebuilt {', '.join(rebuilt)}; chain "
            + ("intact" if report.ok else f"BROKEN at {report.first_bad_position}")
        )
    if not report.ok:
        raise typer.Exit(1)
