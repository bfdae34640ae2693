"""Events that evolve: rows written by an older version, copied verbatim from
`ecovarejo_events` into tests/fixtures (not re-encoded by today's code), are read through
the `class_version` upcasters; replay shows them as stored and as read today."""

from __future__ import annotations

import json
from pathlib import Path
from uuid import UUID

import psycopg
import pytest
from eventsourcing.persistence import StoredEvent

from application.audit import replay
from domain.base import EventMetadata, event_context
from domain.stock_item import InvalidReferenceError, StockItem
from infrastructure.bootstrap import bootstrap
from infrastructure.read_stores.projection_admin import rebuild
from infrastructure.store.event_log import EventLog
from projections.catalog import stock_key

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "events_v1_stock_item.json"
ITEM = UUID("bf5bd383-9860-5fda-9018-66c208ce7cbf")


@pytest.fixture
def old_rows(settings):
    """A system whose log holds a StockItem registered and received by version 1."""
    system = bootstrap(settings)
    rows = json.loads(FIXTURE.read_text())["rows"]
    # Through the recorder (positions, chain) but below the mapper: the bytes as stored.
    system.services.store.recorder.insert_events(
        [
            StoredEvent(
                UUID(row["originator_id"]),
                row["originator_version"],
                row["topic"],
                row["state"].encode(),
            )
            for row in rows
        ]
    )
    yield system, rows
    system.close()


def test_old_rows_are_stored_exactly_as_the_fixture_holds_them(old_rows, settings):
    _, rows = old_rows
    with psycopg.connect(settings.database_url) as conn:
        stored = conn.execute(
            "SELECT state FROM ecovarejo_events ORDER BY notification_id"
        ).fetchall()
    assert [bytes(s[0]).decode() for s in stored] == [r["state"] for r in rows]
    assert '"reference"' not in rows[1]["state"]
    assert '"class_version"' not in rows[1]["state"]


def test_a_v1_receipt_reads_as_v2_with_no_reference(old_rows):
    system, _ = old_rows
    events = list(system.services.store.repository.event_store.get(ITEM))
    received = events[1]
    assert isinstance(received, StockItem.Received)
    assert (received.quantity, received.reference) == (7, "")
    item = system.services.catalog.stock_item("ECO-0042")
    assert item.on_hand == 17


def test_new_receipts_are_written_as_v2_and_both_read_side_by_side(old_rows, settings):
    system, _ = old_rows
    with event_context(EventMetadata("admin:ops")):
        system.services.catalog.receive_stock("ECO-0042", 3, reference="NF-000123")
    with psycopg.connect(settings.database_url) as conn:
        (state,) = conn.execute(
            "SELECT state FROM ecovarejo_events WHERE originator_version = 3"
        ).fetchone()
    written = json.loads(bytes(state))
    assert (written["class_version"], written["reference"]) == (2, "NF-000123")
    assert system.services.catalog.stock_item("ECO-0042").on_hand == 20
    assert EventLog(settings.database_url).verify_chain().ok
    rebuild(system, "stock_items")
    document = system.view("stock_items").get(stock_key("ECO-0042"))
    assert document is not None
    assert (document["on_hand"], document["available"]) == (20, 20)


def test_replay_shows_an_old_event_as_stored_and_as_read_today(old_rows):
    system, _ = old_rows
    with event_context(EventMetadata("admin:ops")):
        system.services.catalog.receive_stock("ECO-0042", 1, reference="NF-9")
    events = replay(system.services.store.mapper, system.services.event_log, ITEM).events
    old, new = events[1], events[2]
    assert old["data"] == {"quantity": 7, "reference": ""}
    assert old["stored"] == {"class_version": 1, "data": {"quantity": 7}}
    assert old["read_as_version"] == 2
    assert "stored" not in new
    assert new["data"] == {"quantity": 1, "reference": "NF-9"}


def test_a_reference_with_control_characters_is_refused(old_rows):
    system, _ = old_rows
    with pytest.raises(InvalidReferenceError), event_context(EventMetadata("admin:ops")):
        system.services.catalog.receive_stock("ECO-0042", 1, reference="NF\x00")
    assert system.services.catalog.stock_item("ECO-0042").on_hand == 17
