"""The erasure ledger: which data keys were destroyed, kept outside the database.

An erasure deletes the subject's data key row; a backup (or dump) taken before it still
holds the row, and restoring it would bring the key, and so the personal data, back. The
ledger is an append-only file (one JSON line per destroyed key: the subject, and the
creation time of the key that was destroyed) that lives beside the master key in the data
dir (or at ECOVAREJO_ERASURE_LEDGER), never in the database or its backups. It is written
(and fsynced) before the key row is deleted, so no destroyed key is missing from it.

`ecovarejo restore` re-applies every entry inside the restoring transaction, and every
start re-applies them too (a dump loaded with psql, say), so a restored key that an
erasure destroyed is destroyed again before anything reads it. An entry names one key by
its creation time: a later key for the same subject (created after the erasure) is kept.
"""

from __future__ import annotations

import json
import logging
import os
import threading
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import psycopg

LEDGER_FILE = "erasure-ledger.jsonl"
log = logging.getLogger(__name__)
_append_lock = threading.Lock()


@dataclass(frozen=True)
class Erased:
    subject: str
    key_created_at: datetime


class ErasureLedger:
    def __init__(self, path: Path):
        self.path = path

    def record(self, subject: str, key_created_at: datetime) -> None:
        """Append one entry, on disk before this returns."""
        line = json.dumps({"subject": subject, "key_created_at": key_created_at.isoformat()})
        self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        with _append_lock:
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            try:
                os.write(fd, (line + "\n").encode())
                os.fsync(fd)
            finally:
                os.close(fd)

    def entries(self) -> list[Erased]:
        if not self.path.exists():
            return []
        found = []
        for number, line in enumerate(self.path.read_text().splitlines(), 1):
            if not line.strip():
                continue
            try:
                item = json.loads(line)
                found.append(
                    Erased(str(item["subject"]), datetime.fromisoformat(item["key_created_at"]))
                )
            except (ValueError, KeyError, TypeError):
                # A line torn by a crash while it was written: its key was never deleted.
                log.warning(
                    "erasure ledger %s: line %d is not an entry; skipped", self.path, number
                )
        return found


def reapply(conn: psycopg.Connection[Any], entries: list[Erased]) -> int:
    """Delete every data key the ledger says was destroyed, in the caller's transaction;
    how many were found again (restored from a backup or dump)."""
    if not entries:
        return 0
    cursor = conn.execute(
        "DELETE FROM ecovarejo_subject_keys k "
        "USING unnest(%s::text[], %s::timestamptz[]) AS e(subject, key_created_at) "
        "WHERE k.subject = e.subject AND k.created_at <= e.key_created_at",
        ([e.subject for e in entries], [e.key_created_at for e in entries]),
    )
    return max(cursor.rowcount, 0)


def reapply_erasures(database_url: str, ledger: ErasureLedger) -> int:
    """`reapply` in a transaction of its own (at start)."""
    entries = ledger.entries()
    if not entries:
        return 0
    with psycopg.connect(database_url) as conn:
        return reapply(conn, entries)
