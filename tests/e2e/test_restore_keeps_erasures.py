"""Issue 21: an erasure is a fact restores cannot undo. A backup taken before an erasure,
restored (same data dir with the ledger; a new one with the ledger and the key), leaves the
subject erased in every read model and on the request register; a new data dir without a
ledger refuses unless told `--without-erasure-ledger`; a missing master key is explained in
one line and leaves no key file behind (issue 31, item 6)."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from application.customers import CONSENT_TEXT_VERSION
from domain.base import event_context
from domain.card import Address
from domain.customer import Profile
from infrastructure.bootstrap import Container, bootstrap
from infrastructure.keys.data_keys import MASTER_KEY_FILE, generate_master_key
from infrastructure.keys.erasure_ledger import LEDGER_FILE
from infrastructure.settings import Settings
from tests.checkout import place_order, register, wait_until
from tests.conftest import JWT_SECRET, Servers, new_database
from tests.e2e.test_backup_restore import ADMIN, env_of, settled
from tests.e2e.test_cli import clean_env, run

EVA = "eva-erasable"
NAME, EMAIL, CPF = "Eva Apagável", "eva.apagavel@example.com", "529.982.247-25"
STREET = "Rua do Esquecimento 77"


def make_eva(system: Container) -> None:
    services = system.services
    with event_context(ADMIN):
        register(services, "ECO-1", 20)
    services.customers.update_profile(EVA, Profile.parse(NAME, EMAIL, "", CPF))
    services.customers.add_address(EVA, Address(STREET, "", "Recife", "PE", "50000-000", "BR"))
    for purpose in ("personalization", "analytics"):
        services.customers.set_consent(EVA, purpose, True, CONSENT_TEXT_VERSION)
    order = place_order(services, {"ECO-1": 2}, customer=EVA)
    wait_until(lambda: services.orders.order_of(order).status == "confirmed", what="the checkout")


def erased_everywhere(settings: Settings) -> None:
    """The subject reads as erased in the export, consents, analytics and the register."""
    system = bootstrap(settings)
    try:
        with event_context(ADMIN):
            export = system.services.data_subjects.export_personal_data(EVA, "admin:ops")
        text = json.dumps(export, ensure_ascii=False)
        assert export["erased"] is True
        for needle in (NAME, EMAIL, CPF, STREET):
            assert needle not in text
        assert not any(c["granted"] for c in system.services.customers.consents_of(EVA).values())
        assert not system.services.customers.has_consent(
            EVA, "personalization"
        )  # no recommendations
        customers = system.readers.analytics.rows("customer")
        assert not any(EVA in json.dumps(row) for row in customers)
        requests = system.services.data_subjects.lgpd_requests(pseudonymous=False)
        assert any(r["subject"] == EVA and r["type"] == "erasure" for r in requests)
    finally:
        system.close()


@pytest.fixture(scope="module")
def settings(servers: Servers, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Settings]:
    """One system for the module (its own database and data dir): built once by `eva_backup`,
    which the tests only read, but for the one that restores into it."""
    data_dir = tmp_path_factory.mktemp("eva")
    (data_dir / MASTER_KEY_FILE).write_text(generate_master_key())
    redis_db = redis.Redis.from_url(servers.redis_url)
    redis_db.flushdb()  # as the `redis_url` fixture leaves it for a test
    with new_database(servers) as database_url:
        yield Settings(
            DATABASE_URL=database_url,
            REDIS_URL=servers.redis_url,
            ECOVAREJO_DATA_DIR=data_dir,
            ECOVAREJO_JWT_SECRET=JWT_SECRET,
            ECOVAREJO_PAYMENT_TIMEOUT_S=5,
        )
    redis_db.flushdb()
    redis_db.close()


@pytest.fixture(scope="module")
def eva_backup(settings: Settings) -> Path:
    """A backup taken while Eva was held (consents granted, analytics row), then Eva erased;
    nothing processing afterwards. Next to it: what `backup` said, and the erasure ledger as
    the erasure left it (a restore into the same data dir may write it again)."""
    system = bootstrap(settings)
    try:
        system.start_processing()
        make_eva(system)
        settled(system)
        assert any(EVA in json.dumps(r) for r in system.readers.analytics.rows("customer"))
        file = settings.data_dir / "before-erasure.backup"
        made = run("backup", str(file), env=env_of(settings))
        assert made.returncode == 0, made.stderr
        (settings.data_dir / "backup-output.txt").write_text(made.stdout)
        with event_context(ADMIN):
            assert (
                system.services.data_subjects.erase_personal_data(EVA, "admin:ops").status
                == "erased"
            )
        settled(system)
    finally:
        system.close()
    shutil.copy(settings.erasure_ledger_path, settings.data_dir / "ledger-after-erasure")
    return file


def test_backup_says_what_must_travel_with_it(settings, eva_backup):
    said = (eva_backup.parent / "backup-output.txt").read_text()
    assert f"apart from it: the master key file {settings.data_dir / MASTER_KEY_FILE}" in said
    assert f"erasure ledger {settings.erasure_ledger_path}" in said
    assert "newest copy" in said


def test_restoring_into_the_same_data_dir_keeps_the_whole_erasure(settings, eva_backup):
    restored = run("restore", str(eva_backup), "--force", "--json", env=env_of(settings))
    assert restored.returncode == 0, restored.stderr
    result = json.loads(restored.stdout)
    assert (result["erasures_reapplied"], result["erasures_completed"]) == (1, 1)
    assert result["chain_ok"] is True
    erased_everywhere(settings)


def test_a_new_data_dir_refuses_without_ledger_and_key_then_restores_erased(
    settings, eva_backup, tmp_path
):
    fresh = tmp_path / "fresh"
    env = clean_env(ECOVAREJO_DATA_DIR=str(fresh), ECOVAREJO_JWT_SECRET=JWT_SECRET)

    no_ledger = run("restore", str(eva_backup), env=env, timeout=300)
    assert no_ledger.returncode == 2
    assert no_ledger.stderr.startswith(f"error: no erasure ledger at {fresh / LEDGER_FILE}")
    assert "--without-erasure-ledger" in no_ledger.stderr
    assert len(no_ledger.stderr.strip().splitlines()) == 1
    assert not (fresh / MASTER_KEY_FILE).exists()

    fresh.mkdir(exist_ok=True)
    shutil.copy(eva_backup.parent / "ledger-after-erasure", fresh / LEDGER_FILE)
    keyless = run("restore", str(eva_backup), env=env, timeout=300)
    assert keyless.returncode == 2
    assert keyless.stderr.startswith(f"error: {fresh} has no master key")
    assert "wrapped by master key" in keyless.stderr
    assert len(keyless.stderr.strip().splitlines()) == 1
    assert not (fresh / MASTER_KEY_FILE).exists()  # no stray key left behind

    shutil.copy(settings.data_dir / MASTER_KEY_FILE, fresh / MASTER_KEY_FILE)
    restored = run("restore", str(eva_backup), "--json", env=env, timeout=300)
    assert restored.returncode == 0, restored.stderr
    result = json.loads(restored.stdout)
    assert (result["erasures_reapplied"], result["erasures_completed"]) == (1, 1)
    erased_everywhere(Settings(ECOVAREJO_DATA_DIR=fresh, ECOVAREJO_JWT_SECRET=JWT_SECRET))


def test_without_erasure_ledger_restores_and_says_the_erasures_are_undone(
    settings, eva_backup, tmp_path
):
    fresh = tmp_path / "no-ledger"
    fresh.mkdir()
    shutil.copy(settings.data_dir / MASTER_KEY_FILE, fresh / MASTER_KEY_FILE)
    env = clean_env(ECOVAREJO_DATA_DIR=str(fresh), ECOVAREJO_JWT_SECRET=JWT_SECRET)
    restored = run("restore", str(eva_backup), "--without-erasure-ledger", env=env, timeout=300)
    assert restored.returncode == 0, restored.stderr
    assert "WITHOUT an erasure ledger: erasures made after the backup are undone" in (
        restored.stdout
    )
    assert (fresh / LEDGER_FILE).exists()  # from now on erasures here are on record
