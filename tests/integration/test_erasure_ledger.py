"""A backup taken before an erasure must not bring the erased subject's key back (review
F13): the erasure ledger, kept outside the database and its backups, is re-applied by a
restore and at every start."""

from __future__ import annotations

import uuid

import psycopg

from domain.base import EventMetadata, event_context
from domain.customer import Profile
from infrastructure.bootstrap import bootstrap
from infrastructure.keys.erasure_ledger import ErasureLedger, reapply_erasures
from infrastructure.keys.wrappers import key_wrapper_of
from infrastructure.store.backup import backup, restore
from tests.checkout import register
from tests.conftest import with_database
from tests.integration.test_envelope_encryption import checkout, personal_values, settings_for

ADMIN = EventMetadata("admin:ops", "c-ledger", "test")


def fresh_database(server_url: str) -> str:
    name = f"restore_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return with_database(server_url, name)


def key_rows(database_url: str, subject: str) -> int:
    with psycopg.connect(database_url) as conn:
        row = conn.execute(
            "SELECT count(*) FROM ecovarejo_subject_keys WHERE subject = %s", (subject,)
        ).fetchone()
    assert row is not None
    return int(row[0])


def test_restoring_a_backup_taken_before_an_erasure_erases_again(container, servers, tmp_path):
    services = container.services
    register(services, "ECO-1", 10)
    values = personal_values()
    order_id = checkout(container, values, customer="ana")
    checkout(container, personal_values(), customer="bia")
    file = tmp_path / "before-erasure.backup"
    backup(container.database_url, file)
    with event_context(ADMIN):
        assert services.data_subjects.erase_personal_data("ana", "admin:ops").status == "erased"
    ledger = ErasureLedger(container.settings.erasure_ledger_path)
    assert ledger.path.parent == container.settings.data_dir.resolve()  # beside the master key
    assert [e.subject for e in ledger.entries()] == ["ana"]
    key_id = key_wrapper_of(container.settings).key_id

    # Restored with the ledger (as `ecovarejo restore` does): ana's key is destroyed again.
    target = fresh_database(servers.database_url)
    system = bootstrap(settings_for(target, container.redis_url, container.settings.data_dir))
    try:
        manifest = restore(target, file, master_key_id=key_id, erased=ledger.entries())
        assert manifest["erasures_reapplied"] == 1
        assert key_rows(target, "ana") == 0
        assert key_rows(target, "bia") == 1
        assert system.services.orders.order_of(order_id).shipping_address.value is None
        with event_context(ADMIN):
            exported = system.services.data_subjects.export_personal_data("ana", "admin:ops")
        assert values["street"] not in str(exported)
        assert values["email"] not in str(exported)
    finally:
        system.close()

    # Positive control: without the ledger the backup brings the key, and the address, back;
    # the next start destroys it again (a dump loaded by other means).
    target = fresh_database(servers.database_url)
    system = bootstrap(settings_for(target, container.redis_url, container.settings.data_dir))
    try:
        assert restore(target, file, master_key_id=key_id)["erasures_reapplied"] == 0
        assert key_rows(target, "ana") == 1
        address = system.services.orders.order_of(order_id).shipping_address.value
        assert address is not None
        assert address["line1"] == values["street"]
    finally:
        system.close()
    again = bootstrap(settings_for(target, container.redis_url, container.settings.data_dir))
    try:
        assert key_rows(target, "ana") == 0
        assert again.services.orders.order_of(order_id).shipping_address.value is None
        # ... and the rest of the erasure is recorded again: the log says erased, the
        # request is on the register (issue 21)
        with event_context(ADMIN):
            assert (
                again.services.data_subjects.export_personal_data("ana", "admin:ops")["erased"]
                is True
            )
        register_ = again.services.data_subjects.lgpd_requests(pseudonymous=False)
        assert [r["type"] for r in register_ if r["subject"] == "ana"].count("erasure") >= 1
    finally:
        again.close()


def test_a_key_made_after_the_erasure_is_not_destroyed_by_the_ledger(container):
    store = container.services.store.keys
    values = personal_values()
    profile = Profile.parse(values["name"], values["email"], "(11) 91234-5678", values["cpf"])
    container.services.customers.update_profile("caio", profile)
    with event_context(ADMIN):
        container.services.data_subjects.erase_personal_data("caio", "admin:ops")
    fresh = store.key_for("caio")  # the same subject id, a new key, after the erasure
    ledger = ErasureLedger(container.settings.erasure_ledger_path)
    assert len(ledger.entries()) == 1
    # What every start does (the test above shows bootstrap doing it).
    assert reapply_erasures(container.database_url, ledger) == 0
    assert key_rows(container.database_url, "caio") == 1
    assert store.existing_key("caio") == fresh
