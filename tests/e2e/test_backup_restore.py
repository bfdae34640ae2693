"""Backups that restore: back up, write more, restore into a fresh data dir (new embedded
PostgreSQL and Redis), rebuild: the chain verifies and every read model is what it was at
backup time; personal data decrypts (keys came along) and erased data stays erased."""

from __future__ import annotations

import json
import shutil
import stat
import time

from domain.base import EventMetadata, event_context
from infrastructure.bootstrap import REDIS_PROJECTIONS, bootstrap
from infrastructure.keys.data_keys import MASTER_KEY_FILE
from infrastructure.keys.erasure_ledger import LEDGER_FILE
from infrastructure.read_stores.projection_admin import snapshot
from infrastructure.settings import Settings
from infrastructure.store.event_log import EventLog
from tests.checkout import DECLINED, place_order, register, wait_until
from tests.conftest import JWT_SECRET
from tests.e2e.test_cli import clean_env, run

ADMIN = EventMetadata("admin:ops", "c-backup", "test")


def settled(container) -> int:
    """Wait until the log stops growing and every read model has caught up; the head."""
    head, since = -1, time.monotonic()
    while time.monotonic() - since < 2.0:
        now = container.head_position()
        if now != head:
            head, since = now, time.monotonic()
        time.sleep(0.1)
    assert container.wait_for_projections(head)
    return head


def env_of(settings) -> dict[str, str]:
    return clean_env(
        DATABASE_URL=settings.database_url,
        REDIS_URL=settings.redis_url,
        ECOVAREJO_JWT_SECRET=JWT_SECRET,
        ECOVAREJO_DATA_DIR=str(settings.data_dir),
    )


def test_backup_more_writes_restore_into_a_fresh_data_dir_gives_the_backup_state(
    settings, container, tmp_path
):
    services = container.services
    with event_context(ADMIN):
        register(services, "ECO-1", 20)
        register(services, "ECO-2", 5, price="12.50")
    kept = place_order(services, {"ECO-1": 2, "ECO-2": 1}, customer="ana")
    place_order(services, {"ECO-1": 1}, DECLINED, customer="bia")
    place_order(services, {"ECO-2": 1}, customer="caio")
    wait_until(lambda: services.orders.order_of(kept).status == "confirmed", what="the checkout")
    with event_context(ADMIN):
        services.data_subjects.erase_personal_data("caio", "admin:ops")
    head = settled(container)
    before = {name: snapshot(container.redis, name) for name in REDIS_PROJECTIONS}

    file = tmp_path / "backups" / "eco.backup"
    file.parent.mkdir()  # backup refuses a missing parent directory
    made = run("backup", str(file), "--json", env=env_of(settings))
    assert made.returncode == 0, made.stderr
    report = json.loads(made.stdout)
    assert report["head"] == head
    assert report["tables"]["ecovarejo_events"] == head
    assert report["tables"]["ecovarejo_subject_keys"] >= 1
    assert not any(t.startswith("search_") for t in report["tables"])
    assert stat.S_IMODE(file.stat().st_mode) == 0o600

    place_order(services, {"ECO-1": 3}, customer="davi")  # written after the backup
    assert settled(container) > head

    fresh = tmp_path / "fresh-data-dir"
    fresh_env = clean_env(ECOVAREJO_DATA_DIR=str(fresh), ECOVAREJO_JWT_SECRET=JWT_SECRET)
    # Neither the erasure ledger nor the master key is in the backup: the operator brings
    # both (README); without them, refused.
    fresh.mkdir()
    shutil.copy(settings.erasure_ledger_path, fresh / LEDGER_FILE)
    keyless = run("restore", str(file), env=fresh_env, timeout=300)
    assert keyless.returncode == 2
    assert "wrapped by master key" in keyless.stderr
    # kept apart from backups, by design: the operator brings it
    shutil.copy(settings.data_dir / MASTER_KEY_FILE, fresh / MASTER_KEY_FILE)
    restored = run("restore", str(file), "--json", env=fresh_env, timeout=300)
    assert restored.returncode == 0, restored.stderr
    result = json.loads(restored.stdout)
    assert (result["head"], result["chain_ok"], result["chain_checked"]) == (head, True, head)
    assert set(result["rebuilt"]) >= set(REDIS_PROJECTIONS)

    verified = run("audit", "verify", "--json", env=fresh_env)
    assert verified.returncode == 0, verified.stderr
    assert json.loads(verified.stdout)["checked"] == head

    again = run("restore", str(file), env=fresh_env)
    assert again.returncode == 2
    assert again.stderr.startswith("error: this system already holds events")

    other = bootstrap(Settings(ECOVAREJO_DATA_DIR=fresh, ECOVAREJO_JWT_SECRET=JWT_SECRET))
    try:
        assert other.head_position() == head
        for name in REDIS_PROJECTIONS:
            assert snapshot(other.redis, name) == before[name], name
        with event_context(ADMIN):
            ana = other.services.data_subjects.export_personal_data("ana", "admin:ops")
            caio = other.services.data_subjects.export_personal_data("caio", "admin:ops")
        assert "Rua das Flores 10" in json.dumps(ana, ensure_ascii=False)
        assert "Rua das Flores 10" not in json.dumps(caio, ensure_ascii=False)
    finally:
        other.close()


def test_restore_refuses_what_is_not_a_backup_and_changes_nothing(settings, container, tmp_path):
    with event_context(ADMIN):
        register(container.services, "ECO-1", 1)
    junk = tmp_path / "junk.backup"
    junk.write_text("not a backup")
    for args, message in (
        ((str(junk), "--force"), f"error: {junk} is not an EcoVarejo backup"),
        ((str(tmp_path / "none"),), f"error: {tmp_path / 'none'} does not exist"),
    ):
        result = run("restore", *args, env=env_of(settings))
        assert result.returncode == 2
        assert result.stderr.startswith(message), result.stderr
    good = tmp_path / "good.backup"
    assert run("backup", str(good), env=env_of(settings)).returncode == 0
    busy = run("restore", str(good), "--force", env=env_of(settings))
    assert busy.returncode == 2
    assert "is running on" in busy.stderr
    assert busy.stderr.rstrip().endswith("stop the API and workers first")
    assert container.head_position() == 1


def test_backup_refuses_to_overwrite_a_file(settings, container, tmp_path):
    existing = tmp_path / "there.backup"
    existing.write_text("precious")
    result = run("backup", str(existing), env=env_of(settings))
    assert result.returncode == 2
    assert result.stderr.strip() == f"error: {existing} exists; choose a new file name"
    assert existing.read_text() == "precious"


def test_force_replaces_a_stopped_system_with_the_backup(settings, tmp_path):
    system = bootstrap(settings)  # nothing processing: the operator stopped API and workers
    try:
        with event_context(ADMIN):
            register(system.services, "ECO-1", 1)
        file = tmp_path / "one.backup"
        assert run("backup", str(file), env=env_of(settings)).returncode == 0
        with event_context(ADMIN):
            register(system.services, "ECO-2", 1)
        refused = run("restore", str(file), env=env_of(settings))
        assert refused.returncode == 2
        assert "give --force to replace it" in refused.stderr
        assert system.head_position() == 2
        forced = run("restore", str(file), "--force", "--json", env=env_of(settings))
        assert forced.returncode == 0, forced.stderr
        assert json.loads(forced.stdout)["chain_ok"] is True
        assert system.head_position() == 1
        items = snapshot(system.redis, "stock_items")
        assert any("ECO-1" in key for key in items)
        assert not any("ECO-2" in key for key in items)
        with event_context(ADMIN):
            register(system.services, "ECO-3", 1)  # the log goes on after the restored ids
        assert system.head_position() == 2
        assert EventLog(system.database_url).verify_chain().ok  # the chain goes on too
    finally:
        system.close()
