"""`ecovarejo keys rotate` with HashiCorp Vault's Transit engine, through the real CLI, against
a local fake that implements Vault's documented API (tests/fakes/vault.py): moving a system
from the local master key into Vault, then rotating there and retiring the old version."""

from __future__ import annotations

import json

import psycopg
import pytest

from domain.customer import Profile
from infrastructure.bootstrap import bootstrap
from tests.e2e.test_cli import clean_env, run
from tests.fakes.vault import started_vault
from tests.integration.test_envelope_encryption import settings_for


@pytest.fixture
def vault():
    fake = started_vault("ecovarejo")
    yield fake
    fake.stop()


def wrapped(database_url: str) -> list[bytes]:
    with psycopg.connect(database_url) as conn:
        rows = conn.execute("SELECT wrapped_key FROM ecovarejo_subject_keys ORDER BY 1")
        return [bytes(r[0]) for r in rows.fetchall()]


def test_a_system_moves_into_vault_and_rotates_there(settings, vault):
    local = bootstrap(settings)
    try:
        local.services.customers.update_profile(
            "ana", Profile.parse("Ana Souza", "ana.souza@example.com.br")
        )
    finally:
        local.close()
    env = clean_env(
        DATABASE_URL=settings.database_url,
        REDIS_URL=settings.redis_url,
        ECOVAREJO_JWT_SECRET="s" * 40,
        ECOVAREJO_DATA_DIR=str(settings.data_dir),
        ECOVAREJO_VAULT_ADDR=vault.url,
        ECOVAREJO_VAULT_TOKEN=vault.token,
    )

    moved = run("keys", "rotate", "--to-vault", "--json", env=env)
    assert moved.returncode == 0, moved.stderr
    assert json.loads(moved.stdout)["new_master_key_id"] == "vault-transit:transit/ecovarejo"
    assert [w[:9] for w in wrapped(settings.database_url)] == [b"vault:v1:"]
    assert vault.token not in moved.stdout + moved.stderr

    again = run("keys", "rotate", "--to-vault", env=env)  # the local key wraps nothing now
    assert again.returncode == 2
    assert len(again.stderr.strip().splitlines()) == 1, again.stderr
    assert "not the one that wraps" in again.stderr

    vault_env = {**env, "ECOVAREJO_KEY_WRAPPER": "vault"}
    rotated = run("keys", "rotate", "--retire-old-versions", "--json", env=vault_env)
    assert rotated.returncode == 0, rotated.stderr
    report = json.loads(rotated.stdout)
    assert (report["keys"], report["old_version"], report["new_version"]) == (1, 1, 2)
    assert report["old_versions_retired"] is True
    assert vault.keys["ecovarejo"].min_decryption_version == 2
    assert [w[:9] for w in wrapped(settings.database_url)] == [b"vault:v2:"]

    in_vault = bootstrap(
        settings_for(
            settings.database_url,
            settings.redis_url,
            settings.data_dir,
            ECOVAREJO_KEY_WRAPPER="vault",
            ECOVAREJO_VAULT_ADDR=vault.url,
            ECOVAREJO_VAULT_TOKEN=vault.token,
        )
    )
    try:
        assert in_vault.services.customers.profile_of("ana")["email"] == "ana.souza@example.com.br"
    finally:
        in_vault.close()
