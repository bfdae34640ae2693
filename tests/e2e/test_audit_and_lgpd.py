"""Auditors and data subjects, through the CLI and HTTP."""

from __future__ import annotations

import json

import psycopg
import pytest

from domain.stock_item import StockItem
from infrastructure.bootstrap import bootstrap
from tests.checkout import register
from tests.e2e.test_cli import run, settings_env

API = "/api/v1"


@pytest.fixture
def env(settings):
    return settings_env(settings)


def test_replay_prints_events_and_state_as_one_json_document(container, env):
    register(container.services, "ECO-1", 10)
    container.services.catalog.receive_stock("ECO-1", 4)
    result = run("replay", str(StockItem.create_id("ECO-1")), "--version", "1", "--json", env=env)
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    assert document["state"]["on_hand"] == 10
    assert [e["type"] for e in document["events"]] == ["StockItem.Registered"]


def test_replay_all_streams_json_lines(container, env):
    register(container.services, "ECO-1", 10)
    container.services.catalog.receive_stock("ECO-1", 4)
    result = run("replay", "--all", "--since", "1", "--json", env=env)
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [(line["position"], line["type"]) for line in lines] == [(2, "StockItem.Received")]


# Refused from the arguments alone, before the system is connected (api/cli/audit.py): run
# against an empty database, which they must not reach.
REFUSED_BEFORE_READING = {
    "must be a UUID",
    "ISO 8601",
    "unknown event type",
    "either AGGREGATE_ID or --all",
}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["replay", "not-a-uuid"], "must be a UUID"),
        (["replay", "00000000-0000-0000-0000-000000000000"], "no aggregate"),
        (["replay", "{item}", "--as-of", "yesterday"], "ISO 8601"),
        (["replay", "{item}", "--version", "9"], "outside 1..1"),
        (["replay", "--all", "--type", "Order.Lost"], "unknown event type"),
        (["replay"], "either AGGREGATE_ID or --all"),
        (["audit", "trail", "00000000-0000-0000-0000-000000000000"], "no order"),
    ],
)
def test_bad_input_is_a_one_line_error_and_exit_2(settings, env, args, message):
    if message not in REFUSED_BEFORE_READING:  # these read the log: one product registered
        system = bootstrap(settings)  # nothing processing: the log is what they read
        try:
            register(system.services, "ECO-1", 10)
        finally:
            system.close()
    item = str(StockItem.create_id("ECO-1"))
    result = run(*[a.replace("{item}", item) for a in args], env=env)
    assert result.returncode == 2
    assert message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert "Traceback" not in result.stderr


def test_audit_verify_exits_1_naming_the_tampered_position(container, env):
    register(container.services, "ECO-1", 10)
    container.services.catalog.receive_stock("ECO-1", 4)
    assert run("audit", "verify", env=env).returncode == 0
    with psycopg.connect(container.database_url, autocommit=True) as conn:
        conn.execute("ALTER TABLE ecovarejo_events DISABLE TRIGGER USER")
        conn.execute("UPDATE ecovarejo_events SET topic = topic || ' ' WHERE notification_id = 2")
    result = run("audit", "verify", "--json", env=env)
    assert result.returncode == 1
    assert json.loads(result.stdout)["first_bad_position"] == 2


def test_lgpd_erase_through_the_cli_is_idempotent(container, env):
    assert run("lgpd", "erase", "ghost", "--yes", env=env).stdout.strip() == (
        "nothing is held about ghost; nothing to erase"
    )


def test_auditors_read_an_aggregates_events_over_http(client, auth, product):
    item = StockItem.create_id(product["sku"])
    response = client.get(f"{API}/audit/aggregates/{item}/events", headers=auth("auditor", "aud"))
    assert response.status_code == 200
    [event] = response.json()
    assert (event["position"], event["type"], event["actor"]) == (
        1,
        "StockItem.Registered",
        "admin:adm",
    )
    assert (
        client.get(
            f"{API}/audit/aggregates/{item}/events", headers=auth("admin", "adm")
        ).status_code
        == 403
    )
    unknown = "00000000-0000-0000-0000-000000000000"
    assert (
        client.get(
            f"{API}/audit/aggregates/{unknown}/events", headers=auth("auditor", "aud")
        ).status_code
        == 404
    )


def test_personal_data_requests_are_for_the_subject_or_an_admin(client, auth, product):
    client.post(f"{API}/carts", json={}, headers=auth(sub="ana"))
    mine = client.get(f"{API}/customers/ana/personal-data", headers=auth(sub="ana"))
    assert mine.status_code == 200
    assert len(mine.json()["carts"]) == 1
    assert (
        client.get(f"{API}/customers/ana/personal-data", headers=auth(sub="bruno")).status_code
        == 404
    )
    erased = client.delete(f"{API}/customers/ana/personal-data", headers=auth("admin", "adm"))
    assert erased.status_code == 202
    assert erased.json()["status"] == "erased"
    again = client.delete(f"{API}/customers/ana/personal-data", headers=auth(sub="ana"))
    assert again.json()["status"] == "already_erased"


def test_projections_status_and_rebuild_from_the_cli(container, env):
    register(container.services, "ECO-1", 10)
    assert container.wait_for_projections(container.head_position())
    status = json.loads(run("projections", "status", "--json", env=env).stdout)
    assert {s["name"] for s in status} >= {"stock_items", "carts", "orders", "saga.p0", "effects"}
    result = run("projections", "rebuild", "stock_items", "--json", env=env)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert (report["projection"], report["events"]) == ("stock_items", 1)
    assert report["events_per_s"] > 0
    everything = json.loads(run("projections", "rebuild", "--all", "--json", env=env).stdout)
    assert len(everything) >= 3
    bad = run("projections", "rebuild", "nope", env=env)
    assert bad.returncode == 2
    assert "unknown projection 'nope'" in bad.stderr
