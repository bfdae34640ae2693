"""Where the master key comes from, and its rotation.

ECOVAREJO_MASTER_KEY if set; else the file `master-key` in the data dir (generated once in
embedded mode, like the JWT secret). It never enters the database: the database records
only its id. `rotate` re-wraps every data key under a new master key in one transaction;
with the key in the data dir, the new key is written beside the old one first
(`master-key.new`) and replaces it once the transaction commits, and a start-up finishes a
rotation a crash interrupted.
"""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import psycopg

from application.keys import KeyWrapper, KeyWrapperUnavailableError, WrongMasterKeyError
from application.operations.keys import LocalRotated, MovedIntoVault, VaultRotated
from infrastructure.keys.data_keys import (
    MASTER_KEY_FILE,
    LocalMasterKey,
    forget_cached_keys,
    generate_master_key,
    other_key_on_record,
    rewrap_all,
    set_up_key_tables,
)

if TYPE_CHECKING:  # httpx only where Vault is used; pydantic not in the lean replay
    from infrastructure.keys.vault_transit import VaultTransitKey
    from infrastructure.settings import Settings


class MasterKeyError(Exception):
    """No usable master key, or not the one that wraps the stored data keys."""


def _write_secret(path: Path, text: str) -> None:
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)  # a new data dir: private
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(text + "\n")
        out.flush()
        os.fsync(out.fileno())


def master_key_of(settings: Settings) -> LocalMasterKey:
    try:
        if settings.master_key is not None:
            return LocalMasterKey(settings.master_key.get_secret_value())
        if settings.production:
            raise MasterKeyError(
                "ECOVAREJO_PRODUCTION refuses the master key from the data dir: set "
                "ECOVAREJO_MASTER_KEY (`ecovarejo keys generate`) or ECOVAREJO_KEY_WRAPPER=vault"
            )
        path = (settings.data_dir / MASTER_KEY_FILE).resolve()
        if not path.exists():
            if not settings.embedded:
                raise MasterKeyError(
                    "set ECOVAREJO_MASTER_KEY (it wraps every customer's data key; "
                    "`ecovarejo keys generate` makes one)"
                )
            _write_secret(path, generate_master_key())
        return LocalMasterKey(path.read_text(), path)
    except ValueError as e:
        raise MasterKeyError(f"ECOVAREJO_MASTER_KEY: {e}") from None


def check_master_key(database_url: str, key: KeyWrapper) -> None:
    """Create the key tables; refuse a master key (or KMS key) that is not the one on record."""
    with psycopg.connect(database_url) as conn:
        on_record = set_up_key_tables(conn, key)
        if (
            on_record != key.key_id
            and not conn.execute("SELECT 1 FROM ecovarejo_subject_keys LIMIT 1").fetchone()
        ):
            # No data key to protect yet (e.g. a fresh system about to be restored into):
            # the key in use becomes the one on record.
            conn.execute(
                "UPDATE ecovarejo_key_meta SET master_key_id = %s WHERE id = 1", (key.key_id,)
            )
            on_record = key.key_id
    if on_record == key.key_id:
        if isinstance(key, LocalMasterKey):
            _discard_pending(key)
        return
    if isinstance(key, LocalMasterKey) and key.path is not None:
        pending = key.path.with_name(MASTER_KEY_FILE + ".new")
        if pending.exists() and LocalMasterKey(pending.read_text()).key_id == on_record:
            os.replace(pending, key.path)  # a rotation committed, then the process died
            key.reload()
            return
    raise MasterKeyError(
        f"the master key (id {key.key_id}) is not the one that wraps the stored data keys "
        f"(id {on_record}); start with the current ECOVAREJO_MASTER_KEY"
        + (" (or ECOVAREJO_KEY_WRAPPER=vault)" if on_record.startswith("vault-transit:") else "")
    )


def _discard_pending(key: LocalMasterKey) -> None:
    if key.path is not None:
        with contextlib.suppress(FileNotFoundError):
            os.remove(key.path.with_name(MASTER_KEY_FILE + ".new"))  # never committed


@dataclass(frozen=True)
class Rotation:
    keys: int
    old_id: str
    new_id: str
    new_key_path: Path | None  # where the new key now is (None: the operator sets it)


def rotate(database_url: str, current: LocalMasterKey, new_text: str | None) -> Rotation:
    """Re-wrap every data key under a new master key (`new_text`, or a generated one)."""
    if current.path is None and new_text is None:
        raise MasterKeyError(
            "with ECOVAREJO_MASTER_KEY set, give the new key with --new-key-file "
            "(make one with `ecovarejo keys generate`)"
        )
    text = new_text.strip() if new_text is not None else generate_master_key()
    try:
        new = LocalMasterKey(text)
    except ValueError as e:
        raise MasterKeyError(f"new master key: {e}") from None
    if new.key_id == current.key_id:
        raise MasterKeyError("the new master key is the current one; nothing changed")
    pending = current.path.with_name(MASTER_KEY_FILE + ".new") if current.path else None
    if pending is not None:
        _write_secret(pending, text)
    try:
        with psycopg.connect(database_url) as conn:
            count = rewrap_all(conn, current, new)
    except WrongMasterKeyError as e:
        _discard_pending(current)
        raise MasterKeyError(str(e)) from None
    forget_cached_keys()
    if current.path is not None and pending is not None:
        os.replace(pending, current.path)  # the old key is gone from the data dir
    return Rotation(count, current.key_id, new.key_id, current.path)


@dataclass(frozen=True)
class KmsRotation:
    keys: int
    key_id: str
    old_version: int
    new_version: int
    retired: bool  # wrapped keys of older versions no longer open


def rotate_in_kms(database_url: str, kms: VaultTransitKey, *, retire: bool) -> KmsRotation:
    """Rotate the Transit key (a new version) and re-wrap every data key under it with
    Vault's rewrap endpoint, in one transaction; with `retire`, then raise the key's
    `min_decryption_version` so wrapped keys of older versions (old dumps, old backups) no
    longer open. The data keys never leave Vault in the clear during the re-wrap."""
    try:
        old_version = kms.info().latest_version
        with psycopg.connect(database_url) as conn:
            if (on_record := other_key_on_record(conn, kms.key_id)) is not None:
                raise MasterKeyError(
                    f"the data keys are wrapped by {on_record}, not by {kms.key_id}; "
                    "nothing changed"
                )
            # Writers wait on the row above (FOR SHARE) and wrap under the new version after.
            new_version = kms.rotate_key()
            rows = conn.execute(
                "SELECT subject, wrapped_key FROM ecovarejo_subject_keys FOR UPDATE"
            ).fetchall()
            for subject, wrapped in rows:
                conn.execute(
                    "UPDATE ecovarejo_subject_keys SET wrapped_key = %s WHERE subject = %s",
                    (kms.rewrap(bytes(wrapped), subject), subject),
                )
            conn.execute("UPDATE ecovarejo_key_meta SET rotated_at = now() WHERE id = 1")
    except (WrongMasterKeyError, KeyWrapperUnavailableError) as e:
        # Before the commit nothing changed in the database; a new Transit key version may
        # exist, which is harmless (older versions still decrypt until retired).
        raise MasterKeyError(f"{e}; nothing changed in the database") from None
    forget_cached_keys()
    if retire:
        try:
            kms.retire_versions_below(new_version)
        except KeyWrapperUnavailableError as e:
            raise MasterKeyError(
                f"re-wrapped {len(rows)} data keys under version {new_version}, but older "
                f"versions are not retired: {e}; retry with `vault write "
                f"{kms.mount}/keys/{kms.key_name}/config min_decryption_version={new_version}`"
            ) from None
    return KmsRotation(len(rows), kms.key_id, old_version, new_version, retire)


def move_into_kms(database_url: str, current: LocalMasterKey, kms: KeyWrapper) -> Rotation:
    """Re-wrap every data key from the local master key into the KMS, in one transaction
    (a wrong current key, or the KMS unusable: nothing changed). Afterwards every process
    must run with the KMS wrapper, and the old master key can be destroyed."""
    try:
        with psycopg.connect(database_url) as conn:
            count = rewrap_all(conn, current, kms)
    except (WrongMasterKeyError, KeyWrapperUnavailableError) as e:
        raise MasterKeyError(f"{e}; nothing changed") from None
    forget_cached_keys()
    return Rotation(count, current.key_id, kms.key_id, None)


class MasterKeys:
    """The `MasterKeys` port of application/operations/keys.py over this module: the master
    key the settings name, the key store at `database_url`, and (for a move into Vault) the
    Transit key, built by the caller before it connects."""

    def __init__(
        self, settings: Settings, database_url: str, vault: VaultTransitKey | None = None
    ) -> None:
        self.settings = settings
        self.database_url = database_url
        self.vault = vault

    def rotate_local(self, new_key_text: str | None) -> LocalRotated:
        done = rotate(self.database_url, master_key_of(self.settings), new_key_text)
        return LocalRotated(done.keys, done.old_id, done.new_id, done.new_key_path)

    def move_into_vault(self) -> MovedIntoVault:
        assert self.vault is not None, "the caller builds the Transit key first"
        done = move_into_kms(self.database_url, master_key_of(self.settings), self.vault)
        return MovedIntoVault(done.keys, done.old_id, done.new_id)

    def rotate_in_vault(self, retire: bool) -> VaultRotated:
        from infrastructure.keys.vault_transit import VaultTransitKey
        from infrastructure.keys.wrappers import key_wrapper_of

        kms = key_wrapper_of(self.settings)
        assert isinstance(kms, VaultTransitKey)
        done = rotate_in_kms(self.database_url, kms, retire=retire)
        retire_command = (
            f"vault write {kms.mount}/keys/{kms.key_name}/config "
            f"min_decryption_version={done.new_version}"
        )
        return VaultRotated(
            done.keys, done.key_id, done.old_version, done.new_version, done.retired, retire_command
        )
