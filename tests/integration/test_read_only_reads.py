"""CLI reads (replay, audit verify, projections status) open the store read-only: no DDL,
no table lock, so they run while writers hold the log's write lock, and a writer never
waits for them."""

from __future__ import annotations

import threading

import psycopg

from application.audit import stream
from infrastructure.bootstrap import bootstrap
from infrastructure.read_stores.projection_admin import statuses
from tests.checkout import register


def test_a_read_only_container_reads_while_a_writer_holds_the_log_lock(container, settings):
    register(container.services, "ECO-1", 10)
    container.services.catalog.receive_stock("ECO-1", 5)
    done = threading.Event()
    found: dict[str, object] = {}

    def read() -> None:
        reader = bootstrap(settings, read_only=True)
        try:
            select = reader.services.store.recorder.select_notifications
            found["events"] = [row["type"] for row in stream(reader.services.store.mapper, select)]
            found["followers"] = {s.name for s in statuses(reader)}
            found["chain"] = reader.services.event_log.verify_chain().ok  # type: ignore[union-attr]
        finally:
            reader.close()
            done.set()

    with psycopg.connect(container.database_url) as writer:
        # What a command holds while it appends (the library's lock): a read-only
        # bootstrap taking any lock or running DDL on the log would wait here.
        writer.execute("LOCK TABLE ecovarejo_events IN EXCLUSIVE MODE")
        threading.Thread(target=read, daemon=True).start()
        finished = done.wait(30)
        writer.rollback()
    assert finished, "the read-only reads waited for the writer's lock"
    assert found["events"] == ["StockItem.Registered", "StockItem.Received"]
    assert {"stock_items", "product_search", "saga.p0", "effects"} <= found["followers"]  # type: ignore[operator]
    assert found["chain"] is True
