"""Restoring a backup (`ecovarejo restore`): the steps in their order and the outcome's one
document form. Written once here over the `RestoreTarget` port; `infrastructure/store/backup.py`
`SystemRestore` implements it over a connected system.

The order matters: nothing is written while a worker or an API still processes the log, nor
into a system that holds events unless asked to replace it; the rows go in (the erasures of
the ledger re-applied in the same transaction); then the erasures are recorded again, every
read model is rebuilt, and the hash chain is extended and verified.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Protocol

from application.operations.chain import ChainReport
from application.operations.read_side import ReadSide, rebuild


class RestoreRefusedError(Exception):
    """The system is not in a state to be restored into; nothing changed."""


class Erasure(Protocol):
    @property
    def subject(self) -> str: ...


class RestoreTarget(Protocol):
    """The system a backup goes into (infrastructure/store/backup.py `SystemRestore`)."""

    read_side: ReadSide

    def processing_host(self) -> tuple[str, str] | None:
        """(runner, host) of a runner alive right now, if any."""
        ...

    def holds_events(self) -> bool: ...

    def erasures_on_record(self) -> Sequence[Erasure]: ...

    def load(self, file: Path, *, force: bool, erased: Sequence[Erasure]) -> dict[str, Any]:
        """Put the backup's rows in, in one transaction; its manifest."""
        ...

    def complete_erasures(self, subjects: list[str]) -> list[Any]: ...

    def chain_fully_verified(self) -> ChainReport:
        """Chain what the backup held unchained, then verify the whole chain."""
        ...


def restore_backup(
    target: RestoreTarget,
    file: Path,
    *,
    force: bool,
    on_committed: Callable[[], None] = lambda: None,
) -> dict[str, Any]:
    """Restore `file` into `target` (empty, or replaced with `force`); the outcome."""
    running = target.processing_host()
    if running is not None:
        name, host = running
        raise RestoreRefusedError(f"{name} is running on {host}: stop the API and workers first")
    if not force and target.holds_events():
        raise RestoreRefusedError(
            "this system already holds events; restore into an empty one, "
            "or give --force to replace it"
        )
    erased = target.erasures_on_record()
    manifest = target.load(file, force=force, erased=erased)
    on_committed()
    completed = target.complete_erasures([entry.subject for entry in erased])
    reports = rebuild(target.read_side, list(target.read_side.rebuildable))
    report = target.chain_fully_verified()
    return {
        "restored": str(file),
        "backup_created_at": manifest["created_at"],
        "head": manifest["head"],
        "tables": {t: spec["rows"] for t, spec in manifest["tables"].items()},
        "rebuilt": {r.projection: r.events for r in reports},
        "erasures_reapplied": manifest["erasures_reapplied"],
        "erasures_on_record": len(erased),
        "erasures_completed": len(completed),
        "chain_ok": report.ok,
        "chain_checked": report.checked,
        "first_bad_position": report.first_bad_position,
    }
