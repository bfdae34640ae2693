"""Issue 31, item 6: what must travel with a backup, said for each key mode."""

from __future__ import annotations

from pathlib import Path

from infrastructure.keys.custody import custody_of
from infrastructure.settings import Settings


def test_the_data_dir_key_file_and_the_newest_ledger_travel_with_an_embedded_backup(tmp_path):
    lines = custody_of(Settings(ECOVAREJO_DATA_DIR=tmp_path)).lines("k1")
    assert lines[0].endswith(f"the master key file {(tmp_path / 'master-key').resolve()} (id k1)")
    assert f"erasure ledger {(tmp_path / 'erasure-ledger.jsonl').resolve()}" in lines[1]
    assert "newest copy" in lines[1]


def test_a_master_key_from_the_environment_is_named_without_its_value(tmp_path):
    key = "A" * 43 + "="
    custody = custody_of(Settings(ECOVAREJO_DATA_DIR=tmp_path, ECOVAREJO_MASTER_KEY=key))
    text = " ".join(custody.lines())
    assert "ECOVAREJO_MASTER_KEY" in text
    assert key not in text


def test_with_vault_the_transit_key_must_live_on_and_a_custom_ledger_path_is_named(tmp_path):
    ledger = tmp_path / "shared" / "ledger.jsonl"
    settings = Settings(
        ECOVAREJO_DATA_DIR=tmp_path,
        ECOVAREJO_KEY_WRAPPER="vault",
        ECOVAREJO_VAULT_ADDR="https://vault.internal:8200",
        ECOVAREJO_VAULT_TOKEN="t" * 20,
        ECOVAREJO_ERASURE_LEDGER=ledger,
    )
    custody = custody_of(settings)
    assert "Vault Transit key 'ecovarejo' on mount 'transit' at https://vault.internal" in (
        custody.key
    )
    assert "must not be deleted or retired" in custody.key
    assert custody.as_dict("v")["erasure_ledger"] == str(Path(ledger).resolve())
