"""Rotating the master key (`ecovarejo keys rotate`): which rotation a request asks for,
the combinations refused before anything is touched, and the outcome in its one document
form and its one line for a person. Written once here over the `MasterKeys` port;
`infrastructure/keys/master_key.py` `MasterKeys` implements it (local key file, Vault Transit).

Three rotations: a new local master key (generated, or read from a file); a new version of
the Transit key in Vault (its old versions retired or not); a move from the local key into
Vault. Each re-wraps every data key in one transaction; a wrong current key changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol


class RotationRefusedError(ValueError):
    """The options ask for a rotation that cannot be made; nothing changed."""


@dataclass(frozen=True)
class RotationRequest:
    wrapper: str  # the configured key wrapper: "local" or "vault"
    new_key_text: str | None = None  # --new-key-file's content (local only)
    new_key_file_given: bool = False
    retire_old_versions: bool = False  # Vault only
    to_vault: bool = False  # local -> Vault
    vault_configured: bool = False  # ECOVAREJO_VAULT_ADDR and _TOKEN are set

    @property
    def kind(self) -> str:
        if self.to_vault:
            return "to_vault"
        return "vault" if self.wrapper == "vault" else "local"


def check_rotation(request: RotationRequest) -> None:
    """Refuse, before any connection, what the chosen rotation does not take."""
    if request.kind == "to_vault":
        if request.wrapper != "local":
            raise RotationRefusedError(
                "--to-vault runs with the local master key still in use "
                "(ECOVAREJO_KEY_WRAPPER=local)"
            )
        if request.new_key_file_given or request.retire_old_versions:
            raise RotationRefusedError(
                "--to-vault takes neither --new-key-file nor --retire-old-versions"
            )
        if not request.vault_configured:
            raise RotationRefusedError(
                "--to-vault needs ECOVAREJO_VAULT_ADDR and ECOVAREJO_VAULT_TOKEN "
                "(and the Transit key)"
            )
    elif request.kind == "vault":
        if request.new_key_file_given:
            raise RotationRefusedError(
                "with ECOVAREJO_KEY_WRAPPER=vault the new key version is made in Vault; "
                "--new-key-file is for a local master key"
            )
    elif request.retire_old_versions:
        raise RotationRefusedError(
            "--retire-old-versions is for ECOVAREJO_KEY_WRAPPER=vault; a local master key "
            "retires by destroying every copy of the old key"
        )


@dataclass(frozen=True)
class LocalRotated:
    keys: int
    old_id: str
    new_id: str
    new_key_path: Path | None

    def as_dict(self) -> dict[str, Any]:
        return {
            "keys": self.keys,
            "old_master_key_id": self.old_id,
            "new_master_key_id": self.new_id,
            "new_key_path": str(self.new_key_path) if self.new_key_path else None,
        }

    def summary(self) -> str:
        where = (
            f"the new key replaced {self.new_key_path}"
            if self.new_key_path
            else "set ECOVAREJO_MASTER_KEY to the new key and restart every process"
        )
        return (
            f"re-wrapped {self.keys} data keys: master key {self.old_id} -> {self.new_id}; "
            f"{where}; now destroy every copy of the old key"
        )


@dataclass(frozen=True)
class MovedIntoVault:
    keys: int
    old_id: str
    new_id: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "keys": self.keys,
            "old_master_key_id": self.old_id,
            "new_master_key_id": self.new_id,
        }

    def summary(self) -> str:
        return (
            f"re-wrapped {self.keys} data keys: master key {self.old_id} -> {self.new_id}; set "
            "ECOVAREJO_KEY_WRAPPER=vault, restart every process, then destroy every copy of "
            "the old master key (and the data dir's master-key file)"
        )


@dataclass(frozen=True)
class VaultRotated:
    keys: int
    key_id: str
    old_version: int
    new_version: int
    retired: bool
    retire_command: str  # how to retire the old versions by hand

    def as_dict(self) -> dict[str, Any]:
        return {
            "keys": self.keys,
            "key_id": self.key_id,
            "old_version": self.old_version,
            "new_version": self.new_version,
            "old_versions_retired": self.retired,
        }

    def summary(self) -> str:
        after = (
            f"versions below {self.new_version} no longer decrypt"
            if self.retired
            else f"retire the old versions with `{self.retire_command}` "
            "(or rerun with --retire-old-versions)"
        )
        return (
            f"re-wrapped {self.keys} data keys: {self.key_id} version {self.old_version} -> "
            f"{self.new_version}; {after}"
        )


Rotated = LocalRotated | MovedIntoVault | VaultRotated


class MasterKeys(Protocol):
    """The key store's master key, where it is kept (infrastructure/keys/master_key.py)."""

    def rotate_local(self, new_key_text: str | None) -> LocalRotated: ...

    def move_into_vault(self) -> MovedIntoVault: ...

    def rotate_in_vault(self, retire: bool) -> VaultRotated: ...


def rotate_master_key(keys: MasterKeys, request: RotationRequest) -> Rotated:
    """Re-wrap every data key under a new master key (or key version), as asked."""
    check_rotation(request)
    if request.kind == "to_vault":
        return keys.move_into_vault()
    if request.kind == "vault":
        return keys.rotate_in_vault(request.retire_old_versions)
    return keys.rotate_local(request.new_key_text)
