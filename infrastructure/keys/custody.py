"""What must travel with a backup (issue 31, item 6), said by `ecovarejo backup` and the README.

A backup holds the event store, the hash chain and the data keys, wrapped; it deliberately
holds neither what unwraps them nor the erasure ledger:

- local master key from the data dir: the `master-key` file (kept apart from the backup);
- local master key from `ECOVAREJO_MASTER_KEY`: that value, from the secret store;
- Vault Transit: nothing to copy, but the Transit key (and every version still needed) must
  live on in Vault, with a token that may decrypt with it;
- always: the erasure ledger, the NEWEST one (its entries after the backup are the erasures
  a restore must not undo).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from infrastructure.keys.data_keys import MASTER_KEY_FILE
from infrastructure.settings import Settings


@dataclass(frozen=True)
class Custody:
    key: str  # what opens the data keys, and where it is
    ledger: Path

    def lines(self, key_id: str | None = None) -> list[str]:
        named = f" (id {key_id})" if key_id else ""
        return [
            f"keep with this backup, apart from it: {self.key}{named}",
            f"and the erasure ledger {self.ledger}: restore with the newest copy, never an "
            "older one (its later entries are erasures a restore must not undo)",
        ]

    def as_dict(self, key_id: str | None = None) -> dict[str, str | None]:
        return {"key": self.key, "key_id": key_id, "erasure_ledger": str(self.ledger)}


def custody_of(settings: Settings) -> Custody:
    if settings.key_wrapper == "vault":
        key = (
            f"Vault Transit key {settings.vault_transit_key!r} on mount "
            f"{settings.vault_transit_mount!r} at {settings.vault_addr} (no file: the key and "
            "its versions must not be deleted or retired while this backup may be restored)"
        )
    elif settings.master_key is not None:
        key = "the master key in ECOVAREJO_MASTER_KEY (from your secret store)"
    else:
        key = f"the master key file {(settings.data_dir / MASTER_KEY_FILE).resolve()}"
    return Custody(key, settings.erasure_ledger_path)


def ensure_ledger(path: Path) -> None:
    """An empty ledger on record (0600): this system's erasures, none yet. A restore into
    a data dir with no ledger at all refuses (it cannot know what was erased)."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.close(os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600))
