"""A damaged or tampered backup is a clear error that changes nothing, and `--force` leaves
no row of the replaced system in a table the backup does not know."""

from __future__ import annotations

import io
import json
import tarfile

import psycopg
import pytest

from domain.base import EventMetadata, event_context
from infrastructure.bootstrap import bootstrap
from infrastructure.store.backup import BackupError, backup, restore
from tests.checkout import register

ADMIN = EventMetadata(actor="admin:ops")


def _with_manifest(path, out, tables):
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        data = json.dumps({"format": "ecovarejo-backup/1", "tables": tables}).encode()
        info = tarfile.TarInfo("manifest.json")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    out.write_bytes(buffer.getvalue())
    return out


def test_a_cut_or_tampered_backup_is_refused_and_the_system_keeps_its_events(settings, tmp_path):
    system = bootstrap(settings)
    try:
        with event_context(ADMIN):
            register(system.services, "ECO-1", 1)
        good = tmp_path / "good.backup"
        backup(system.database_url, good)
        with event_context(ADMIN):
            register(system.services, "ECO-2", 1)
        cut = tmp_path / "cut.backup"
        cut.write_bytes(good.read_bytes()[:-64])
        odd_rows = _with_manifest(
            good, tmp_path / "rows.backup", {"t": {"columns": [], "rows": "x"}}
        )
        odd_names = _with_manifest(
            good, tmp_path / "names.backup", {"ecovarejo_events": {"columns": ["a;b"], "rows": 1}}
        )
        for damaged in (cut, odd_rows, odd_names):
            with pytest.raises(BackupError):
                restore(system.database_url, damaged, force=True)
            assert system.head_position() == 2, damaged.name
    finally:
        system.close()


def test_force_empties_the_tables_the_backup_does_not_know(settings, tmp_path):
    system = bootstrap(settings)
    try:
        with event_context(ADMIN):
            register(system.services, "ECO-1", 1)
        file = tmp_path / "one.backup"
        backup(system.database_url, file)
        with psycopg.connect(system.database_url, autocommit=True) as conn:
            conn.execute("CREATE TABLE ecovarejo_newer (x int)")
            conn.execute("INSERT INTO ecovarejo_newer VALUES (1)")
        restore(system.database_url, file, force=True)
        with psycopg.connect(system.database_url) as conn:
            assert conn.execute("SELECT count(*) FROM ecovarejo_newer").fetchone() == (0,)
        assert system.head_position() == 1
    finally:
        system.close()
