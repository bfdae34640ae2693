"""Readers of the log survive what is already in it: events stored below the edge, as an old
version or a bug would have written them (a NUL in the subject and the metadata, a customer
id made to look like another's in the raw bytes, bytes that are not even JSON), leave every
other customer's export and erasure, the replay stream and the audit routes working."""

from __future__ import annotations

import uuid

import psycopg

from application.audit import stream
from domain.base import EventMetadata, event_context
from infrastructure.store.event_log import EventLog
from tests.checkout import register, wait_until
from tests.integration.test_lgpd import STREET, checkout_with_personal_data

EVIL = "evil\x00"
LOOKALIKE = 'x","customer_id":"ana'


def plant_odd_events(container) -> uuid.UUID:
    services = container.services
    with event_context(EventMetadata(f"customer:{EVIL}", "corr\x00", "request:\x00")):
        services.checkout.create_cart(EVIL)
    services.checkout.create_cart(LOOKALIKE)
    corrupt = uuid.uuid4()
    with psycopg.connect(container.database_url) as conn:
        conn.execute(
            "INSERT INTO ecovarejo_events (originator_id, originator_version, topic, state) "
            "VALUES (%s, 1, 'domain.cart:Cart.Created', %s)",
            (corrupt, b'\xff\xfe{"customer_id":"ana"\x00'),
        )
    return corrupt


def test_every_other_customers_export_and_erasure_work_beside_odd_events(container):
    services = container.services
    register(services, "ECO-1", 10)
    ana_order = checkout_with_personal_data(container, "ana")
    bia_cart = services.checkout.create_cart("bia").aggregate_id
    plant_odd_events(container)

    ana = services.data_subjects.export_personal_data("ana", "admin:root")
    assert [o["id"] for o in ana["orders"]] == [str(ana_order)]
    assert ana["orders"][0]["shipping_address"]["line1"] == STREET
    assert [c["customer_id"] for c in ana["carts"]] == ["ana"]  # not the look-alike's
    bia = services.data_subjects.export_personal_data("bia", "customer:bia")
    assert [c["id"] for c in bia["carts"]] == [str(bia_cart)]

    assert services.data_subjects.erase_personal_data("bia", "customer:bia").status == "erased"
    assert services.data_subjects.erase_personal_data("ana", "admin:root").status == "erased"
    assert services.data_subjects.export_personal_data("ana", "admin:root")["orders"][0][
        "shipping_address"
    ] == {"erased": True}
    # Even the odd subjects' own rights work (below the edge: the edge refuses such ids).
    assert [
        c["customer_id"]
        for c in services.data_subjects.export_personal_data(EVIL, "admin:root")["carts"]
    ] == [EVIL]
    assert services.data_subjects.export_personal_data(LOOKALIKE, "admin:root")["carts"][0][
        "customer_id"
    ] == (LOOKALIKE)
    assert services.data_subjects.erase_personal_data("nobody", "admin:root").status == "unknown"


def test_the_replay_stream_shows_an_unreadable_event_and_goes_on(container):
    services = container.services
    register(services, "ECO-1", 10)
    corrupt = plant_odd_events(container)
    services.checkout.create_cart("after")
    head = container.head_position()
    rows: list[dict] = []

    def read_to_head() -> bool:
        # The log is read below the oldest transaction in flight anywhere in the cluster (a
        # set-up's DDL, another test's follower): under load the stream can stop short of
        # a committed row for a moment, and shows it on the next read.
        rows[:] = stream(services.store.mapper, services.store.recorder.select_notifications)
        return bool(rows) and rows[-1]["position"] >= head

    wait_until(read_to_head, timeout=30, what=f"the stream to read up to position {head}")
    unreadable = [r for r in rows if r["type"] == "unreadable"]
    assert [r["aggregate_id"] for r in unreadable] == [str(corrupt)]
    assert rows[-1]["type"] == "Cart.Created"
    assert rows[-1]["position"] == head
    assert EventLog(container.database_url).verify_chain().ok
