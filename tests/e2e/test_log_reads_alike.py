"""Reading the log the fast way (issue 24: rows as tuples, decoded state straight into
replay's rows, a rebuild's public documents made when written) changes nothing that is
read: over a varied log — stock items stored by older class versions (upcast on the way),
a product in variants, checkouts with personal data, one customer erased, events stored
below the edge as an old version or a bug would have (a NUL in the metadata, bytes that
are not JSON) — `replay --all` writes, byte for byte, what the library's own reading of
each `Notification` through `describe` writes, and a rebuild gives the read models the
live runners wrote, byte for byte. The erased customer's address is nowhere in the
stream; the other customer's is shown, as before."""

from __future__ import annotations

import json
from pathlib import Path
from uuid import UUID

import orjson
import pytest
from eventsourcing.persistence import Mapper, StoredEvent

from application.audit_rows import describe, unreadable
from application.log_reader import LogReader
from infrastructure.bootstrap import REDIS_PROJECTIONS
from infrastructure.read_stores.projection_admin import rebuild_many, snapshot
from tests.checkout import catalog_with_variants, register, settled, wait_until
from tests.e2e.test_cli import run, settings_env
from tests.integration.test_lgpd import STREET, checkout_with_personal_data
from tests.integration.test_odd_stored_events import plant_odd_events

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
OLD_ROWS = [
    row
    for name in ("events_v1_stock_item.json", "events_v3_stock_item_before_products.json")
    for row in json.loads((FIXTURES / name).read_text())["rows"]
]


@pytest.fixture
def env(settings):
    return settings_env(settings)


def varied_log(container) -> None:
    services = container.services
    services.store.recorder.insert_events(
        [
            StoredEvent(UUID(r["originator_id"]), r["originator_version"], r["topic"], r["state"])
            for r in (dict(r, state=r["state"].encode()) for r in OLD_ROWS)
        ]
    )
    register(services, "ECO-1", 10)
    catalog_with_variants(services)
    checkout_with_personal_data(container, "ana")
    checkout_with_personal_data(container, "bia")
    assert services.data_subjects.erase_personal_data("ana", "admin:root").status == "erased"
    services.catalog.receive_stock("ECO-1", 3)
    wait_until(lambda: settled(services))
    plant_odd_events(container)  # last: `settled` reads every cart, and one is corrupt


def reference_stream(container) -> bytes:
    """`replay --all --json` as it was written before: each `Notification` through the
    library's own `Mapper.to_domain_event` (the log reader's transcodings), `describe`, and
    one orjson line; a row that does not decode, `unreadable`."""
    reader = LogReader(env=container.services.store.env)
    try:
        lines = []
        for notification in reader.recorder.select_notifications(1, 100_000):
            try:
                event = Mapper.to_domain_event(reader.mapper, notification)
            except Exception as error:
                row = unreadable(notification, error)
            else:
                row = describe(event, notification.id)
            lines.append(orjson.dumps(row, option=orjson.OPT_APPEND_NEWLINE))
        return b"".join(lines)
    finally:
        reader.close()


def test_replay_writes_what_the_library_reads_byte_for_byte_over_a_varied_log(container, env):
    varied_log(container)
    expected = reference_stream(container)
    replayed = run("replay", "--all", "--json", env=env)
    assert replayed.returncode == 0, replayed.stderr
    assert replayed.stdout.encode() == expected
    rows = [json.loads(line) for line in replayed.stdout.splitlines()]
    types = {row["type"] for row in rows}
    assert {"StockItem.Registered", "Order.Placed", "unreadable", "Product.Created"} <= types
    assert len(rows) == container.head_position()
    # Sealed stays sealed: the erased customer's address is not shown; the other's is.
    placed = {
        row["data"]["customer_id"]: row["data"] for row in rows if row["type"] == "Order.Placed"
    }
    assert placed["ana"]["shipping_address"] == {"erased": True}
    assert placed["bia"]["shipping_address"]["line1"] == STREET


def test_a_rebuild_gives_the_live_runners_read_models_byte_for_byte_over_a_varied_log(
    container,
):
    varied_log(container)
    assert container.wait_for_projections(container.head_position(), timeout=30)
    live = {name: snapshot(container.redis, name) for name in REDIS_PROJECTIONS}
    for supervisor in container.supervisors.values():
        supervisor.stop()
    container.supervisors.clear()
    rebuild_many(container, list(REDIS_PROJECTIONS))
    rebuilt = {name: snapshot(container.redis, name) for name in REDIS_PROJECTIONS}
    for name in REDIS_PROJECTIONS:
        assert rebuilt[name] == live[name], name
    stock = live["stock_items"]
    assert {"stock-public:ECO-0042", "stock-public:ECO-0077", "stock-public:ECO-1"} <= set(stock)
