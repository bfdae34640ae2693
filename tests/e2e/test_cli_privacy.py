"""`ecovarejo keys`, `lgpd requests` and `marketing send` through the real CLI."""

from __future__ import annotations

import json

import psycopg
import pytest

from infrastructure.keys.data_keys import MASTER_KEY_FILE, generate_master_key
from tests.checkout import register
from tests.e2e.test_cli import run, settings_env


@pytest.fixture
def env(settings):
    return settings_env(settings)


def wrapped_keys(database_url: str) -> list[tuple]:
    with psycopg.connect(database_url) as conn:
        return conn.execute(
            "SELECT subject, wrapped_key, master_key_id FROM ecovarejo_subject_keys ORDER BY 1"
        ).fetchall()


def test_rotation_with_a_wrong_current_key_is_a_one_line_error_and_changes_nothing(container, env):
    register(container.services, "ECO-1", 10)
    container.services.checkout.create_cart("ana")
    container.services.store.keys.key_for("ana")
    before = wrapped_keys(container.database_url)
    key_file = container.settings.data_dir / MASTER_KEY_FILE
    key_before = key_file.read_text()
    result = run("keys", "rotate", env={**env, "ECOVAREJO_MASTER_KEY": generate_master_key()})
    assert result.returncode == 2
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert "not the one that wraps" in result.stderr
    assert wrapped_keys(container.database_url) == before
    assert key_file.read_text() == key_before


def test_rotation_rewraps_every_key_and_replaces_the_key_file(container, env, tmp_path):
    container.services.store.keys.key_for("ana")
    container.services.store.keys.key_for("bia")
    before = wrapped_keys(container.database_url)
    result = run("keys", "rotate", "--json", env=env)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["keys"] == 2
    after = wrapped_keys(container.database_url)
    assert [r[2] for r in after] == [report["new_master_key_id"]] * 2
    assert all(a[1] != b[1] for a, b in zip(after, before, strict=True))
    assert container.services.store.keys.existing_key("ana") is not None  # the live store follows
    bad = tmp_path / "bad-key"
    bad.write_text("nope")
    refused = run("keys", "rotate", "--new-key-file", str(bad), env=env)
    assert refused.returncode == 2
    assert "32 random bytes" in refused.stderr
    assert wrapped_keys(container.database_url) == after


def test_lgpd_requests_and_marketing_sends_from_the_cli(container, env):
    from domain.customer import Profile

    services = container.services
    for sub in ("ana", "bia"):
        services.customers.update_profile(sub, Profile.parse(sub.title(), f"{sub}@example.com.br"))
    services.customers.set_consent("ana", "marketing_email", True, "v1")
    services.data_subjects.export_personal_data("ana", "customer:ana")
    services.data_subjects.erase_personal_data("bia", "admin:root")
    listed = run("lgpd", "requests", "--json", env=env)
    assert listed.returncode == 0, listed.stderr
    items = json.loads(listed.stdout)
    assert [(i["type"], i["subject"]) for i in items] == [("access", "ana"), ("erasure", "bia")]
    assert all(i["completed_at"] for i in items)
    text = run("lgpd", "requests", env=env).stdout
    assert "erasure" in text
    assert "completed in" in text
    sent = run("marketing", "send", "newsletter", "--subject", "Oi", "--json", env=env)
    assert sent.returncode == 0, sent.stderr
    assert json.loads(sent.stdout) == {"kind": "newsletter", "sent": 1, "skipped": 1}
    register(services, "ECO-9", 1)
    alert = run("marketing", "send", "back-in-stock", "--sku", "ECO-9", env=env)
    assert "sent to 1 customers; skipped 1" in alert.stdout
    unknown = run("marketing", "send", "back-in-stock", "--sku", "ECO-404", env=env)
    assert unknown.returncode == 2
    assert len(unknown.stderr.strip().splitlines()) == 1
