"""Reading the raw log for auditors: an aggregate's events with their positions, a
customer's aggregates, and the tamper-evidence chain."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any
from uuid import UUID

import psycopg
from eventsourcing.persistence import Notification

CUSTOMER_TOPICS = (
    "domain.cart:Cart.Created",
    "domain.order:Order.Placed",
    "domain.payment:Payment.Requested",
)

# The chain is written by PostgreSQL itself, in the transaction that inserts each event: it
# cannot fall behind. The event store takes an EXCLUSIVE lock on the events table for every
# insert, so links are made strictly in position order.
CHAIN_DDL = """
CREATE TABLE IF NOT EXISTS ecovarejo_audit_chain (position bigint PRIMARY KEY, link bytea NOT NULL);
CREATE OR REPLACE FUNCTION ecovarejo_chain_event() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE previous bytea;
BEGIN
  SELECT link INTO previous FROM ecovarejo_audit_chain ORDER BY position DESC LIMIT 1;
  INSERT INTO ecovarejo_audit_chain (position, link) VALUES (NEW.notification_id, sha256(
    coalesce(previous, ''::bytea) || int8send(NEW.notification_id)
    || uuid_send(NEW.originator_id)
    || int8send(NEW.originator_version) || convert_to(NEW.topic, 'UTF8') || NEW.state));
  RETURN NULL;
END $$;
CREATE OR REPLACE TRIGGER ecovarejo_events_chain AFTER INSERT ON ecovarejo_events
  FOR EACH ROW EXECUTE FUNCTION ecovarejo_chain_event();
CREATE OR REPLACE TRIGGER ecovarejo_audit_chain_refuse_update_delete
  BEFORE UPDATE OR DELETE ON ecovarejo_audit_chain
  FOR EACH ROW EXECUTE FUNCTION ecovarejo_refuse_event_change();
"""


def link(
    previous: bytes, position: int, originator_id: UUID, version: int, topic: str, state: bytes
) -> bytes:
    """The same hash as the trigger: it chains the previous link and the stored bytes."""
    return hashlib.sha256(
        previous
        + position.to_bytes(8, "big", signed=True)
        + originator_id.bytes
        + version.to_bytes(8, "big", signed=True)
        + topic.encode()
        + state
    ).digest()


@dataclass(frozen=True)
class ChainReport:
    checked: int
    first_bad_position: int | None
    problem: str = ""

    @property
    def ok(self) -> bool:
        return self.first_bad_position is None


class EventLog:
    def __init__(self, database_url: str):
        self.database_url = database_url

    def _connect(self) -> psycopg.Connection[tuple[object, ...]]:
        return psycopg.connect(self.database_url)

    def aggregate_notifications(self, aggregate_id: UUID) -> list[Notification]:
        with self._connect() as conn:
            rows = conn.execute(
                "SELECT notification_id, originator_id, originator_version, topic, state "
                "FROM ecovarejo_events WHERE originator_id = %s ORDER BY originator_version",
                (aggregate_id,),
            ).fetchall()
        return [_notification(row) for row in rows]

    def aggregates_of_customer(self, customer_id: str) -> list[UUID]:
        """Carts, orders and payments created for the customer, in log order.

        No row is cast to text or jsonb in PostgreSQL: one stored event that cannot be
        (a NUL, bytes that are not UTF-8) would fail the whole query, for every customer.
        PostgreSQL only looks for the customer's id as the transcoder writes it, in bytes;
        each candidate is then decoded here, on its own, and kept if its `customer_id` is
        exactly the one asked for."""
        needles = _customer_needles(customer_id)
        with self._connect() as conn:
            rows = conn.execute(
                "SELECT originator_id, state FROM ecovarejo_events WHERE topic = ANY(%s) AND "
                "(position(%s::bytea in state) > 0 OR position(%s::bytea in state) > 0) "
                "ORDER BY notification_id",
                (list(CUSTOMER_TOPICS), *needles),
            ).fetchall()
        return [UUID(str(oid)) for oid, state in rows if _customer_of(state) == customer_id]

    def verify_chain(
        self, batch: int = 5000, progress: Callable[[int, int], None] | None = None
    ) -> ChainReport:
        """Recompute every link from the stored events and compare with the chain.
        `progress(checked, head)` is called every `batch` events and at the end."""
        previous, checked = b"", 0
        head = self._head() if progress is not None else 0
        for event, stored in self._events_with_links(batch):
            if progress is not None and checked and checked % batch == 0:
                progress(checked, head)
            if event is None:
                assert stored is not None
                return ChainReport(checked, stored[0], "a chained event is missing (deleted)")
            position = int(event[0])
            if stored is None:
                return ChainReport(checked, position, "an event has no link (inserted)")
            expected = link(previous, position, event[1], event[2], event[3], event[4])
            if expected != bytes(stored[1]):
                return ChainReport(checked, position, "the event's bytes do not match its link")
            previous, checked = expected, checked + 1
        if progress is not None:
            progress(checked, max(head, checked))
        return ChainReport(checked, None)

    def _head(self) -> int:
        with self._connect() as conn:
            row = conn.execute("SELECT count(*) FROM ecovarejo_events").fetchone()
        return int(str(row[0])) if row else 0

    def _events_with_links(self, batch: int) -> Iterator[tuple[tuple | None, tuple | None]]:
        with self._connect() as conn, conn.cursor(name="chain") as cursor:
            cursor.itersize = batch
            cursor.execute(
                "SELECT e.notification_id, e.originator_id, e.originator_version, e.topic, "
                "e.state, c.position, c.link FROM ecovarejo_events e FULL OUTER JOIN "
                "ecovarejo_audit_chain c ON c.position = e.notification_id "
                "ORDER BY coalesce(e.notification_id, c.position)"
            )
            for row in cursor:
                event = row[:5] if row[0] is not None else None
                stored = row[5:] if row[5] is not None else None
                yield event, stored


def _customer_needles(customer_id: str) -> tuple[bytes, bytes]:
    """`"customer_id":"<id>"` as the library's JSON transcoder writes it (compact, not
    ASCII-escaped), and ASCII-escaped as another encoder may have written it."""

    def needle(escaped: bool) -> bytes:
        text = json.dumps(customer_id, ensure_ascii=escaped)
        return b'"customer_id":' + text.encode("utf-8", "replace")

    return needle(False), needle(True)


def _customer_of(state: Any) -> object:
    try:
        document = json.loads(bytes(state))
    except ValueError:  # not UTF-8, not JSON: not this customer's, whatever it is
        return None
    return document.get("customer_id") if isinstance(document, dict) else None


def _notification(row: tuple) -> Notification:
    return Notification(
        id=row[0],
        originator_id=row[1],
        originator_version=row[2],
        topic=row[3],
        state=bytes(row[4]),
    )


def install_chain(database_url: str) -> None:
    """Create the chain and its trigger, and link any events written before it existed."""
    with psycopg.connect(database_url) as conn:
        conn.execute("SELECT pg_advisory_xact_lock(7201)")
        conn.execute(CHAIN_DDL)
        conn.execute("LOCK TABLE ecovarejo_events IN EXCLUSIVE MODE")
        head = conn.execute("SELECT max(position) FROM ecovarejo_audit_chain").fetchone()
        last = head[0] if head and head[0] is not None else 0
        previous_row = conn.execute(
            "SELECT link FROM ecovarejo_audit_chain WHERE position = %s", (last,)
        ).fetchone()
        previous = bytes(previous_row[0]) if previous_row else b""
        rows = conn.execute(
            "SELECT notification_id, originator_id, originator_version, topic, state FROM "
            "ecovarejo_events WHERE notification_id > %s ORDER BY notification_id",
            (last,),
        ).fetchall()
        for row in rows:
            previous = link(previous, row[0], row[1], row[2], row[3], bytes(row[4]))
            conn.execute("INSERT INTO ecovarejo_audit_chain VALUES (%s, %s)", (row[0], previous))
