"""The system with its data keys wrapped by HashiCorp Vault's Transit engine (a local fake
that implements Vault's documented API, tests/fakes/vault.py): personal data round-trips,
a dump alone opens nothing, and a rotation with retired versions closes older dumps."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from application.keys import WrongMasterKeyError
from infrastructure.bootstrap import ConfigurationError, bootstrap
from infrastructure.keys.data_keys import MASTER_KEY_FILE, PostgresKeyStore
from infrastructure.keys.master_key import MasterKeyError, rotate_in_kms
from infrastructure.keys.vault_transit import VaultTransitKey
from infrastructure.keys.wrappers import key_wrapper_of
from tests.checkout import register
from tests.fakes.vault import FakeVault, started_vault
from tests.integration.test_envelope_encryption import (
    checkout,
    encodings,
    personal_values,
    pg_dump,
    restore,
    settings_for,
)


@pytest.fixture
def vault() -> Iterator[FakeVault]:
    fake = started_vault("ecovarejo")
    yield fake
    fake.stop()


def vault_settings(database_url: str, redis_url: str, data_dir: Path, vault: FakeVault):
    return settings_for(
        database_url,
        redis_url,
        data_dir,
        ECOVAREJO_KEY_WRAPPER="vault",
        ECOVAREJO_VAULT_ADDR=vault.url,
        ECOVAREJO_VAULT_TOKEN=vault.token,
        ECOVAREJO_VAULT_TRANSIT_KEY="ecovarejo",
    )


@pytest.fixture
def system(database_url, redis_url, tmp_path, vault):
    built = bootstrap(vault_settings(database_url, redis_url, tmp_path, vault))
    built.start_processing()
    yield built
    built.close()


def test_personal_data_round_trips_with_vault_and_a_dump_alone_opens_nothing(
    system, vault, servers, tmp_path
):
    register(system.services, "ECO-1", 10)
    values = personal_values()
    order_id = checkout(system, values)
    assert (
        system.services.orders.order_of(order_id).shipping_address.value["line1"]
        == values["street"]
    )
    assert system.services.customers.profile_of("ana")["email"] == values["email"]
    assert not (system.settings.data_dir / MASTER_KEY_FILE).exists()  # no local master key
    assert any(r.path.endswith("/encrypt/ecovarejo") for r in vault.requests)

    data_key = PostgresKeyStore.from_env(system.services.store.env).existing_key("ana")  # type: ignore[arg-type]
    assert data_key is not None
    dump_path = tmp_path / "dump.sql"
    dump = pg_dump(system.database_url, dump_path)
    assert b"vault:v1:".hex().encode() in dump  # positive control: the wrapped keys (bytea)
    for value in (values["street"], values["email"], values["name"]):
        assert value.encode() not in dump
    for encoded in encodings(data_key):
        assert encoded not in dump
    # The dump's wrapped keys open only through Vault with the token: another Transit key
    # (or no Vault) opens none of them.
    restored = restore(servers.database_url, dump_path)
    with psycopg.connect(restored) as conn:
        rows = conn.execute("SELECT subject, wrapped_key FROM ecovarejo_subject_keys").fetchall()
    assert rows
    vault.keys["stranger"] = type(vault.keys["ecovarejo"])(derived=True)
    stranger = VaultTransitKey(vault.url, vault.token, "stranger")
    for subject, wrapped in rows:
        with pytest.raises(WrongMasterKeyError):
            stranger.unwrap(bytes(wrapped), subject)


def test_rotation_rewraps_every_key_and_retiring_closes_dumps_from_before(
    system, vault, servers, tmp_path
):
    register(system.services, "ECO-1", 10)
    values = personal_values()
    order_id = checkout(system, values)
    before = tmp_path / "before.sql"
    pg_dump(system.database_url, before)
    kms = key_wrapper_of(system.settings)
    assert isinstance(kms, VaultTransitKey)

    done = rotate_in_kms(system.database_url, kms, retire=True)
    assert (done.old_version, done.new_version, done.retired) == (1, 2, True)
    assert done.keys >= 1
    with psycopg.connect(system.database_url) as conn:
        wrapped = [
            bytes(r[0]) for r in conn.execute("SELECT wrapped_key FROM ecovarejo_subject_keys")
        ]
    assert wrapped
    assert all(w.startswith(b"vault:v2:") for w in wrapped)
    # The live system reads on.
    assert (
        system.services.orders.order_of(order_id).shipping_address.value["line1"]
        == values["street"]
    )
    # The dump from before: Vault refuses its version-1 wrapped keys now.
    restored = restore(servers.database_url, before)
    with psycopg.connect(restored) as conn:
        rows = conn.execute("SELECT subject, wrapped_key FROM ecovarejo_subject_keys").fetchall()
    for subject, old in rows:
        with pytest.raises(WrongMasterKeyError, match="too old"):
            kms.unwrap(bytes(old), subject)


def test_an_unreachable_vault_or_a_refused_token_stops_the_start_with_the_fix(
    database_url, redis_url, tmp_path, vault
):
    settings = vault_settings(database_url, redis_url, tmp_path, vault)
    with pytest.raises(ConfigurationError, match="refused the token"):
        bootstrap(settings.model_copy(update={"vault_token": type(settings.vault_token)("x")}))
    vault.stop()
    with pytest.raises(ConfigurationError, match="cannot be reached"):
        bootstrap(settings)


def test_a_system_wrapped_by_a_local_key_does_not_start_with_vault(settings, vault, tmp_path):
    local = bootstrap(settings)
    local.services.store.keys.key_for("ana")
    local.close()
    with pytest.raises(ConfigurationError, match="not the one that wraps"):
        bootstrap(vault_settings(settings.database_url, settings.redis_url, tmp_path, vault))


def test_rotation_refuses_a_vault_key_that_is_not_the_one_on_record(settings, vault):
    local = bootstrap(settings)
    local.services.store.keys.key_for("ana")
    local.close()
    with pytest.raises(MasterKeyError, match="nothing changed"):
        rotate_in_kms(
            settings.database_url,
            VaultTransitKey(vault.url, vault.token, "ecovarejo"),
            retire=False,
        )
    assert vault.keys["ecovarejo"].latest == 1
