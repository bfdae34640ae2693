"""Backups that restore: the write side (event store, hash chain, key store, the saga's and
effect dispatcher's positions) in one consistent snapshot; read models are rebuilt, not
backed up.

The set of tables is found, not listed: every table of the schema except read models
(`search_*`), so tables that later versions add are backed up too. All are copied in ONE
`REPEATABLE READ` transaction, so the events, the chain and the keys agree with each other
(an erasure is either in both the log and the key store, or in neither). The file is a
gzipped tar: `manifest.json` (format, time, head position, the hash chain's head, tables with
their columns, row counts and digests) and one PostgreSQL binary COPY stream per table. A
restore checks all of it before it commits (infrastructure/store/backup_proof.py).

Restore copies the rows back verbatim (user triggers — the immutability guard, the chain
extender — are disabled for the load only, in the same transaction, so the chain is
restored as it was, not recomputed), moves sequences past the restored ids, then the caller
rebuilds the read models and verifies the chain. The master key that wraps data keys (if
any) is deliberately NOT in the backup: keep it separately, or the backup cannot decrypt.
Nor is the erasure ledger: restore destroys again every data key it names (an erasure
after the backup was taken must not be undone by restoring it).
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import tarfile
import tempfile
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

from application.operations.chain import ChainReport
from domain.base import now
from infrastructure.keys.erasure_ledger import Erased, reapply
from infrastructure.store.backup_proof import (
    CHAIN_TABLES,
    EVENTS,
    MAX_MANIFEST_BYTES,
    ManifestError,
    chain_head,
    check_manifest,
    verify_loaded_chain,
)

FORMAT = "ecovarejo-backup/2"
READ_MODEL_PREFIXES = ("search_",)


class BackupError(Exception):
    """A backup or restore that cannot be done; nothing was changed."""


class MasterKeyMismatchError(BackupError):
    """The backup's data keys are wrapped by another master key than the one in use."""

    def __init__(self, message: str, on_record: str):
        super().__init__(message)
        self.on_record = on_record


@dataclass
class BackupReport:
    path: str
    created_at: str
    head: int
    tables: dict[str, int] = field(default_factory=dict)
    bytes: int = 0
    chain: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "created_at": self.created_at,
            "head": self.head,
            "chain": self.chain,
            "tables": self.tables,
            "bytes": self.bytes,
        }


def _tables(conn: psycopg.Connection[Any]) -> list[str]:
    rows = conn.execute(
        "SELECT tablename FROM pg_tables WHERE schemaname = current_schema() ORDER BY tablename"
    ).fetchall()
    return [r[0] for r in rows if not r[0].startswith(READ_MODEL_PREFIXES)]


def _columns(conn: psycopg.Connection[Any], table: str) -> list[str]:
    # Not `tx_id`: the id of the transaction that wrote an event means something only in the
    # cluster that wrote it (followers read below the oldest transaction in flight). Restored
    # rows take the restoring transaction's id, so followers see them once it commits.
    rows = conn.execute(
        "SELECT attname FROM pg_attribute WHERE attrelid = %s::regclass AND attnum > 0 "
        "AND NOT attisdropped AND attgenerated = '' AND attname <> 'tx_id' ORDER BY attnum",
        (table,),
    ).fetchall()
    return [r[0] for r in rows]


def _copy_sql(table: str, columns: list[str], direction: str) -> sql.Composed:
    return sql.SQL("COPY {} ({}) {} (FORMAT binary)").format(
        sql.Identifier(table),
        sql.SQL(", ").join(map(sql.Identifier, columns)),
        sql.SQL(direction),
    )


def _head(conn: psycopg.Connection[Any], tables: list[str]) -> int:
    if EVENTS not in tables:
        return 0
    row = conn.execute(f"SELECT coalesce(max(notification_id), 0) FROM {EVENTS}").fetchone()  # noqa: S608
    return int(row[0]) if row else 0


def _add_table(conn: psycopg.Connection[Any], tar: tarfile.TarFile, table: str) -> tuple[int, str]:
    """One table's rows as a binary COPY stream in the archive; their count and digest."""
    columns = _columns(conn, table)
    digest = hashlib.sha256()
    with tempfile.TemporaryFile() as buffer:
        with conn.cursor() as cur, cur.copy(_copy_sql(table, columns, "TO STDOUT")) as cp:
            for block in cp:
                digest.update(block)
                buffer.write(block)
        info = tarfile.TarInfo(f"tables/{table}.copy")
        info.size = buffer.tell()
        buffer.seek(0)
        tar.addfile(info, buffer)
    count = conn.execute(sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(table)))
    row = count.fetchone()
    return (int(row[0]) if row else 0), digest.hexdigest()


def backup(database_url: str, path: Path) -> BackupReport:
    """Write the write side to `path` (refused if it exists), atomically."""
    if path.exists():
        raise BackupError(f"{path} exists; choose a new file name")
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=".backup-", dir=path.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        with psycopg.connect(database_url) as conn, tarfile.open(tmp, "w:gz") as tar:
            conn.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
            tables = _tables(conn)
            report = BackupReport(str(path), now().isoformat(), _head(conn, tables))
            if all(t in tables for t in CHAIN_TABLES):
                report.chain = chain_head(conn)
            manifest: dict[str, Any] = {"format": FORMAT, **report.as_dict(), "tables": {}}
            del manifest["bytes"]
            for table in tables:
                rows, digest = _add_table(conn, tar, table)
                manifest["tables"][table] = {
                    "columns": _columns(conn, table),
                    "rows": rows,
                    "sha256": digest,
                }
                report.tables[table] = rows
            conn.rollback()
            data = json.dumps(manifest, indent=2).encode()
            info = tarfile.TarInfo("manifest.json")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
        os.chmod(tmp, 0o600)  # it holds (encrypted) personal data and the data keys
        tmp.replace(path)
    finally:
        tmp.unlink(missing_ok=True)
    report.bytes = path.stat().st_size
    return report


def read_manifest(path: Path) -> dict[str, Any]:
    """The manifest, checked against the archive's members before anything else is done."""
    try:
        with tarfile.open(path, "r:gz") as tar:
            members = {m.name for m in tar.getmembers() if m.isfile()}
            info = tar.getmember("manifest.json")
            member = tar.extractfile(info)
            if member is None or info.size > MAX_MANIFEST_BYTES:
                raise KeyError("manifest.json")
            raw: Any = json.loads(member.read())
    except (OSError, EOFError, zlib.error, tarfile.TarError, KeyError, ValueError) as e:
        raise BackupError(
            f"{path} is not an EcoVarejo backup ({type(e).__name__}); nothing was changed"
        ) from None
    except RecursionError:  # nesting deeper than any manifest `backup` writes
        raise BackupError(
            f"{path}: its manifest is nested too deeply; nothing was changed"
        ) from None
    try:
        return check_manifest(raw, members)
    except ManifestError as e:
        raise BackupError(f"{path}: {e}; nothing was changed") from None


def is_empty(database_url: str) -> bool:
    with psycopg.connect(database_url) as conn:
        return _head(conn, _tables(conn)) == 0


def restore(
    database_url: str,
    path: Path,
    *,
    force: bool = False,
    progress: Callable[[str, int], None] | None = None,
    master_key_id: str | None = None,
    erased: list[Erased] | None = None,
) -> dict[str, Any]:
    """Load `path` into the database whose tables bootstrap created: into an empty one, or,
    with `force`, replacing what is there. One transaction: all or nothing. With
    `master_key_id`, a backup whose data keys another master key wraps is refused. The
    `erased` keys (the erasure ledger's) are destroyed again in the same transaction; the
    manifest returned says how many were (`erasures_reapplied`)."""
    manifest = read_manifest(path)
    with psycopg.connect(database_url) as conn, tarfile.open(path, "r:gz") as tar:
        existing = set(_tables(conn))
        missing = sorted(set(manifest["tables"]) - existing)
        if missing:
            raise BackupError(
                f"the target has no table {missing[0]}: restore with the version that made "
                "the backup, then upgrade"
            )
        if _head(conn, sorted(existing)) and not force:
            raise BackupError(
                "the target already holds events; restore into an empty "
                "system, or give --force to replace it"
            )
        if force:
            # Tables the backup does not know (a newer version's: snapshots, leases…) must
            # not keep the replaced system's rows beside the restored history.
            for table in sorted(existing - set(manifest["tables"])):
                _empty(conn, table)
        try:
            for table, spec in manifest["tables"].items():
                _load(conn, tar, path, table, spec)
                if progress is not None:
                    progress(table, spec["rows"])
        except (OSError, EOFError, zlib.error, tarfile.TarError, psycopg.Error) as e:
            # All in one transaction: nothing was applied. No row content in the message.
            msg = f"{path} cannot be restored ({type(e).__name__}); nothing was changed"
            raise BackupError(msg) from None
        _check_chain(conn, path, manifest)
        _check_master_key(conn, master_key_id)
        reapplied = reapply(conn, erased) if erased and "ecovarejo_subject_keys" in existing else 0
        conn.commit()
    return {**manifest, "erasures_reapplied": reapplied}


def _check_chain(conn: psycopg.Connection[Any], path: Path, manifest: dict[str, Any]) -> None:
    """The loaded events verify against the loaded chain and the manifest's head, before
    the restoring transaction commits."""
    if manifest["tables"].get(EVENTS, {}).get("rows", 0) == 0:
        return
    problem = verify_loaded_chain(conn, manifest.get("chain"))
    if problem:
        raise BackupError(f"{path}: {problem}; refused, nothing was changed")


def _empty(conn: psycopg.Connection[Any], table: str) -> None:
    ident = sql.Identifier(table)
    conn.execute(sql.SQL("ALTER TABLE {} DISABLE TRIGGER USER").format(ident))
    conn.execute(sql.SQL("DELETE FROM {}").format(ident))
    conn.execute(sql.SQL("ALTER TABLE {} ENABLE TRIGGER USER").format(ident))


def _load(
    conn: psycopg.Connection[Any], tar: tarfile.TarFile, path: Path, table: str, spec: Any
) -> None:
    """Replace one table's rows with the archive's COPY stream, triggers off for the load."""
    ident = sql.Identifier(table)
    conn.execute(sql.SQL("ALTER TABLE {} DISABLE TRIGGER USER").format(ident))
    conn.execute(sql.SQL("DELETE FROM {}").format(ident))
    member = tar.extractfile(f"tables/{table}.copy")
    if member is None:
        raise BackupError(f"{path}: table {table} is missing from the archive")
    digest = hashlib.sha256()
    with conn.cursor() as cur, cur.copy(_copy_sql(table, spec["columns"], "FROM STDIN")) as cp:
        while block := member.read(1 << 20):
            digest.update(block)
            cp.write(block)
    if "sha256" in spec and digest.hexdigest() != spec["sha256"]:
        raise BackupError(
            f"{path}: table {table} does not match its digest; refused, nothing was changed"
        )
    conn.execute(sql.SQL("ALTER TABLE {} ENABLE TRIGGER USER").format(ident))
    count = conn.execute(sql.SQL("SELECT count(*) FROM {}").format(ident)).fetchone()
    if not count or int(count[0]) != spec["rows"]:
        raise BackupError(
            f"{path}: table {table} holds {count[0] if count else 0} rows, its manifest says "
            f"{spec['rows']}; refused, nothing was changed"
        )
    _move_sequences(conn, table)


def _check_master_key(conn: psycopg.Connection[Any], master_key_id: str | None) -> None:
    """The restored data keys must open with the master key in use (issue 15)."""
    if master_key_id is None or "ecovarejo_key_meta" not in _tables(conn):
        return
    row = conn.execute("SELECT master_key_id FROM ecovarejo_key_meta WHERE id = 1").fetchone()
    if row is not None and row[0] != master_key_id:
        raise MasterKeyMismatchError(
            f"the backup's data keys are wrapped by master key {row[0]}, this system holds "
            f"{master_key_id}: set ECOVAREJO_MASTER_KEY (or the data dir's master-key file) "
            "to the key that was current when the backup was taken; nothing changed",
            str(row[0]),
        )


def _move_sequences(conn: psycopg.Connection[Any], table: str) -> None:
    """Serial / identity columns continue after the restored ids."""
    for (column,) in conn.execute(
        "SELECT attname FROM pg_attribute WHERE attrelid = %s::regclass AND attnum > 0 "
        "AND NOT attisdropped AND pg_get_serial_sequence(%s, attname) IS NOT NULL",
        (table, table),
    ).fetchall():
        conn.execute(
            sql.SQL(
                "SELECT setval(pg_get_serial_sequence({t}, {c}), "
                "coalesce((SELECT max({col}) FROM {tab}), 0) + 1, false)"
            ).format(
                t=sql.Literal(table),
                c=sql.Literal(column),
                col=sql.Identifier(column),
                tab=sql.Identifier(table),
            )
        )


class SystemRestore:
    """The `RestoreTarget` port of application/operations/backup.py over a connected system
    (the container): its runners' heartbeats, its database, its erasure ledger, its services."""

    LIVE_S = 15.0  # a runner heartbeat this recent means a worker or API is processing

    def __init__(self, container: Any) -> None:
        self.container = container
        self.read_side = container.read_side

    def processing_host(self) -> tuple[str, str] | None:
        import time

        from infrastructure.read_stores.projection_admin import runner_status
        from infrastructure.runtime.followers import RUNNERS

        for name in RUNNERS:  # runners publish their status under the registry's runner names
            status = runner_status(self.container.redis, name)
            fresh = time.time() - status.get("updated_at", 0) < self.LIVE_S
            if status.get("state") == "running" and fresh:
                return name, str(status.get("host"))
        return None

    def holds_events(self) -> bool:
        return not is_empty(self.container.database_url)

    def erasures_on_record(self) -> list[Erased]:
        from infrastructure.keys.erasure_ledger import ErasureLedger

        return ErasureLedger(self.container.settings.erasure_ledger_path).entries()

    def load(self, file: Path, *, force: bool, erased: Sequence[Any]) -> dict[str, Any]:
        from infrastructure.keys.wrappers import key_wrapper_of

        _ = self.container.services.store.keys  # the key store's table exists before its rows
        return restore(
            self.container.database_url,
            file,
            force=force,
            master_key_id=key_wrapper_of(self.container.settings).key_id,
            erased=list(erased),
        )

    def complete_erasures(self, subjects: list[str]) -> list[Any]:
        from application.lgpd import complete_erasures

        return complete_erasures(self.container.services.data_subjects, subjects)

    def chain_fully_verified(self) -> ChainReport:
        from application.operations.chain import verify_chain
        from infrastructure.store.event_log import EventLog

        log = EventLog(self.container.database_url)
        log.extend_chain_fully()  # events the backup held but had not chained yet
        return verify_chain(log)
