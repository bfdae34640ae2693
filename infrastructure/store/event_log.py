"""Reading the raw log for auditors: an aggregate's events with their positions, a
customer's aggregates, and the tamper-evidence chain."""

from __future__ import annotations

import hashlib
import json
import logging
import threading
from collections.abc import Callable, Iterator
from typing import Any
from uuid import UUID

import psycopg
from eventsourcing.persistence import Notification

from application.operations.chain import ChainReport

log = logging.getLogger(__name__)

# Events linked into the global chain per transaction: its transaction holds followers back
# while it runs (they read below the oldest transaction in flight), so it stays short.
CHAIN_BATCH = 1_000

CUSTOMER_TOPICS = (
    "domain.cart:Cart.Created",
    "domain.order:Order.Placed",
    "domain.payment:Payment.Requested",
    "domain.returns:Return.Requested",
    "domain.review:Review.Submitted",  # issue 28: their reviews (export, erasure)
)
# Events about the customer inside an aggregate that is not theirs (a promotion's uses):
# exported one by one, never as the whole aggregate (which names other customers).
CUSTOMER_RECORD_TOPICS = ("domain.promotion:Promotion.UseHeld",)

# Tamper evidence, kept by a chaining follower so that it never serializes writers (nor
# adds a row, an index entry and a hash to every append): `EventLog.extend_chain`, run by
# every worker about once a second (one at a time, by advisory lock), walks the events
# below the oldest transaction in flight — whose order is final — in log order and writes
#
# 1. the stream link: sha256(link of the same aggregate's previous version || position ||
#    originator id || version || topic || state), which pins each event's bytes and its
#    place in its aggregate's history;
# 2. the global link: sha256(previous global link || stream link), which pins the whole
#    log's order and catches what stream links alone cannot (a deleted aggregate, or the
#    deleted last events of one).
#
# Events appended since the last run are not chained yet: the immutability triggers guard
# them, and `audit verify` reports how many there are (`not_yet_global`); the lag is about
# a second while a worker runs. Until issue 12 the stream links were written by a trigger
# in the appending transaction; those rows stay and are used as they are.
CHAIN_DDL = """
CREATE TABLE IF NOT EXISTS ecovarejo_chain_links (
  originator_id uuid NOT NULL, originator_version bigint NOT NULL,
  position bigint NOT NULL, link bytea NOT NULL,
  PRIMARY KEY (originator_id, originator_version));
CREATE TABLE IF NOT EXISTS ecovarejo_chain_global (
  position bigint PRIMARY KEY, link bytea NOT NULL);
DO $$ BEGIN
  -- Stream links used to be written by a trigger in every appending transaction.
  IF EXISTS (SELECT FROM pg_trigger WHERE tgname = 'ecovarejo_events_chain') THEN
    DROP TRIGGER ecovarejo_events_chain ON ecovarejo_events;
  END IF;
END $$;
DROP FUNCTION IF EXISTS ecovarejo_chain_event();
DROP FUNCTION IF EXISTS ecovarejo_extend_chain(integer);
DROP FUNCTION IF EXISTS ecovarejo_link_of(bytea, bigint, uuid, bigint, text, bytea);
CREATE OR REPLACE TRIGGER ecovarejo_chain_links_refuse_update_delete
  BEFORE UPDATE OR DELETE ON ecovarejo_chain_links
  FOR EACH ROW EXECUTE FUNCTION ecovarejo_refuse_event_change();
CREATE OR REPLACE TRIGGER ecovarejo_chain_global_refuse_update_delete
  BEFORE UPDATE OR DELETE ON ecovarejo_chain_global
  FOR EACH ROW EXECUTE FUNCTION ecovarejo_refuse_event_change();
"""


def link(
    previous: bytes, position: int, originator_id: UUID, version: int, topic: str, state: bytes
) -> bytes:
    """A stream link: the aggregate's previous link, the event's position and stored bytes
    (the same hash the trigger of earlier versions computed in PostgreSQL)."""
    return hashlib.sha256(
        previous
        + position.to_bytes(8, "big", signed=True)
        + originator_id.bytes
        + version.to_bytes(8, "big", signed=True)
        + topic.encode()
        + state
    ).digest()


def global_link(previous: bytes, stream_link: bytes) -> bytes:
    return hashlib.sha256(previous + stream_link).digest()


class EventLog:
    def __init__(self, database_url: str):
        self.database_url = database_url

    def _connect(self) -> psycopg.Connection[tuple[Any, ...]]:
        return psycopg.connect(self.database_url)

    def aggregate_notifications(
        self, aggregate_id: UUID, *, mentioning: UUID | None = None
    ) -> list[Notification]:
        """One aggregate's events; with `mentioning`, only those whose stored bytes hold
        that id as the transcoder writes it (hex) — a superset the caller still checks, so
        an order's trail does not decode a hot stock item's whole history."""
        query = (
            "SELECT notification_id, originator_id, originator_version, topic, state "
            "FROM ecovarejo_events WHERE originator_id = %s"
        )
        params: list[Any] = [aggregate_id]
        if mentioning is not None:
            query += " AND position(%s::bytea in state) > 0"
            params.append(mentioning.hex.encode())
        with self._connect() as conn:
            rows = conn.execute(query + " ORDER BY originator_version", params).fetchall()
        return [_notification(row) for row in rows]

    def aggregates_of_customer(self, customer_id: str) -> list[UUID]:
        """Carts, orders, payments and returns created for the customer, in log order.

        No row is cast to text or jsonb in PostgreSQL: one stored event that cannot be
        (a NUL, bytes that are not UTF-8) would fail the whole query, for every customer.
        PostgreSQL only looks for the customer's id as the transcoder writes it, in bytes;
        each candidate is then decoded here, on its own, and kept if its `customer_id` is
        exactly the one asked for."""
        return [
            UUID(str(n.originator_id)) for n in self._events_naming(customer_id, CUSTOMER_TOPICS)
        ]

    def records_of_customer(self, customer_id: str) -> list[Notification]:
        """The customer's records inside aggregates that are not theirs (a promotion's
        uses held for their orders), in log order; found as `aggregates_of_customer`."""
        return self._events_naming(customer_id, CUSTOMER_RECORD_TOPICS)

    def _events_naming(self, customer_id: str, topics: tuple[str, ...]) -> list[Notification]:
        needles = _customer_needles(customer_id)
        with self._connect() as conn:
            rows = conn.execute(
                "SELECT notification_id, originator_id, originator_version, topic, state "
                "FROM ecovarejo_events WHERE topic = ANY(%s) AND "
                "(position(%s::bytea in state) > 0 OR position(%s::bytea in state) > 0) "
                "ORDER BY notification_id",
                (list(topics), *needles),
            ).fetchall()
        return [_notification(row) for row in rows if _customer_of(row[4]) == customer_id]

    def extend_chain(
        self, max_rows: int = CHAIN_BATCH, conn: psycopg.Connection[Any] | None = None
    ) -> int:
        """Chain the next events whose place in the log is final (below the oldest
        transaction in flight); the number chained (0 when another process holds the
        chaining lock). The reads and the hashing take no transaction id: only the final
        INSERTs do, for a few milliseconds, so followers (which read below the oldest
        transaction in flight) are hardly held back. `conn`: an autocommit connection to
        use (the `ChainKeeper`'s, kept between runs), else one of its own."""
        if conn is None:
            with psycopg.connect(self.database_url) as own:
                return self._extend_chain(own, max_rows)
        with conn.transaction():
            return self._extend_chain(conn, max_rows)

    def _extend_chain(self, conn: psycopg.Connection[Any], max_rows: int) -> int:
        locked = conn.execute("SELECT pg_try_advisory_xact_lock(7204)").fetchone()
        if not locked or not locked[0]:
            return 0  # another worker is extending it
        head_row = conn.execute(
            "SELECT position, link FROM ecovarejo_chain_global ORDER BY position DESC LIMIT 1"
        ).fetchone()
        head, previous = (head_row[0], bytes(head_row[1])) if head_row else (0, b"")
        rows = conn.execute(
            "SELECT e.notification_id, e.originator_id, e.originator_version, e.topic, "
            "e.state, l.link FROM ecovarejo_events e LEFT JOIN ecovarejo_chain_links l "
            "USING (originator_id, originator_version) WHERE e.notification_id > %s "
            "AND e.tx_id < pg_snapshot_xmin(pg_current_snapshot()) "
            "ORDER BY e.notification_id LIMIT %s",
            (head, max_rows),
        ).fetchall()
        if not rows:
            return 0
        new_links, global_links = self._links_of(conn, rows, previous)
        # One statement per table, whatever the number of rows (an `executemany` sent a
        # statement per row: ~9 per checkout each second, parsed, bound and run one by one).
        if new_links:
            conn.execute(
                "INSERT INTO ecovarejo_chain_links SELECT * FROM "
                "unnest(%s::uuid[], %s::bigint[], %s::bigint[], %s::bytea[])",
                [list(column) for column in zip(*new_links, strict=True)],
            )
        conn.execute(
            "INSERT INTO ecovarejo_chain_global SELECT * FROM unnest(%s::bigint[], %s::bytea[])",
            [list(column) for column in zip(*global_links, strict=True)],
        )
        return len(rows)

    @staticmethod
    def _links_of(
        conn: psycopg.Connection[tuple[Any, ...]], rows: list[tuple[Any, ...]], previous: bytes
    ) -> tuple[list[tuple[Any, ...]], list[tuple[int, bytes]]]:
        """The stream links the rows lack and the global links of all of them, in log
        order (an aggregate's previous version is always earlier in the log: its append
        committed before the next one could read it)."""
        streams = _previous_links(conn, rows)
        new_links: list[tuple[Any, ...]] = []
        global_links: list[tuple[int, bytes]] = []
        for position, originator_id, version, topic, state, stored in rows:
            if stored is None:
                before = streams.get((originator_id, version - 1), b"")
                stream_link = link(before, position, originator_id, version, topic, bytes(state))
                new_links.append((originator_id, version, position, stream_link))
            else:  # linked by the trigger of earlier versions
                stream_link = bytes(stored)
            streams[(originator_id, version)] = stream_link
            previous = global_link(previous, stream_link)
            global_links.append((position, previous))
        return new_links, global_links

    def extend_chain_fully(self, conn: psycopg.Connection[Any] | None = None) -> None:
        while self.extend_chain(CHAIN_BATCH, conn) == CHAIN_BATCH:
            pass

    def verify_chain(
        self, batch: int = 5000, progress: Callable[[int, int], None] | None = None
    ) -> ChainReport:
        """Recompute every stream link and the global chain from the stored events.
        `progress(checked, head)` is called every `batch` events and at the end."""
        streams: dict[UUID, tuple[int, bytes]] = {}  # aggregate -> (version, recomputed link)
        previous_global, checked, global_head, beyond = b"", 0, 0, 0
        head = self._head() if progress is not None else 0
        rows = self._rows(batch)
        chained_to = next(rows)[0]  # the chain's head in the same snapshot as the rows
        for row in rows:
            if progress is not None and checked and checked % batch == 0:
                progress(checked, head)
            position, event, stored_link, stored_global = row
            if event is None:
                return ChainReport(checked, position, "a chained event is missing (deleted)")
            if stored_link is None:
                if position > chained_to:  # appended since the chaining follower last ran
                    beyond += 1
                    continue
                return ChainReport(checked, position, "an event has no link (inserted)")
            originator_id, version, topic, state = event
            last = streams.get(originator_id)
            previous = last[1] if last is not None and last[0] == version - 1 else b""
            expected = link(previous, position, originator_id, version, topic, state)
            if expected != stored_link:
                return ChainReport(checked, position, "the event's bytes do not match its link")
            streams[originator_id] = (version, expected)
            if stored_global is not None:
                previous_global = global_link(previous_global, expected)
                if previous_global != stored_global:
                    return ChainReport(
                        checked, position, "the global chain does not match the log here"
                    )
                global_head = position
            else:
                beyond += 1
            checked += 1
        if progress is not None:
            progress(checked, max(head, checked))
        return self._tail_report(checked, global_head, beyond)

    def _head(self) -> int:
        with self._connect() as conn:
            row = conn.execute("SELECT count(*) FROM ecovarejo_events").fetchone()
        return int(str(row[0])) if row else 0

    def _tail_report(self, checked: int, global_head: int, beyond: int) -> ChainReport:
        with self._connect() as conn:
            row = conn.execute("SELECT max(position) FROM ecovarejo_chain_global").fetchone()
            head = int(row[0]) if row and row[0] is not None else 0
            missing = conn.execute(
                "SELECT count(*) FROM ecovarejo_events WHERE notification_id <= %s AND NOT "
                "EXISTS (SELECT FROM ecovarejo_chain_global g WHERE g.position = notification_id)",
                (head,),
            ).fetchone()
        if missing and missing[0]:
            first = self._first_unchained_below(head)
            return ChainReport(
                checked, first, "an event inside the global chain has no global link (inserted)"
            )
        return ChainReport(
            checked, None, "", globally_chained_to=global_head, not_yet_global=beyond
        )

    def _first_unchained_below(self, head: int) -> int:
        with self._connect() as conn:
            row = conn.execute(
                "SELECT min(notification_id) FROM ecovarejo_events WHERE notification_id <= %s "
                "AND NOT EXISTS (SELECT FROM ecovarejo_chain_global g "
                "WHERE g.position = notification_id)",
                (head,),
            ).fetchone()
        return int(row[0]) if row and row[0] is not None else head

    def _rows(self, batch: int) -> Iterator[tuple[int, tuple | None, bytes | None, bytes | None]]:
        with self._connect() as conn, conn.cursor(name="chain") as cursor:
            conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
            row = conn.execute("SELECT max(position) FROM ecovarejo_chain_global").fetchone()
            yield (int(row[0]) if row and row[0] is not None else 0), None, None, None
            cursor.itersize = batch
            cursor.execute(
                "SELECT coalesce(e.notification_id, l.position, g.position), "
                "e.notification_id IS NOT NULL, e.originator_id, e.originator_version, "
                "e.topic, e.state, l.link, g.link "
                "FROM ecovarejo_events e FULL OUTER JOIN ecovarejo_chain_links l "
                "ON l.originator_id = e.originator_id "
                "AND l.originator_version = e.originator_version "
                "FULL OUTER JOIN ecovarejo_chain_global g "
                "ON g.position = coalesce(e.notification_id, l.position) "
                "ORDER BY 1"
            )
            for row in cursor:
                event = (row[2], row[3], row[4], bytes(row[5])) if row[1] else None
                stored_link = bytes(row[6]) if row[6] is not None else None
                stored_global = bytes(row[7]) if row[7] is not None else None
                yield int(row[0]), event, stored_link, stored_global


class ChainKeeper:
    """Extends the chain about once a second, in a daemon thread (every worker runs one;
    an advisory lock lets one at a time do the work), on a connection of its own kept
    between runs (a new connection each second cost a backend's start and the client's
    handshake: most of the keeper's CPU); a failed run closes it, the next opens another."""

    def __init__(self, database_url: str, interval_s: float = 1.0):
        self._log = EventLog(database_url)
        self._interval_s = interval_s
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name="chain-keeper", daemon=True)

    def start(self) -> ChainKeeper:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        self._thread.join(5)

    def _run(self) -> None:
        conn: psycopg.Connection[Any] | None = None
        try:
            while not self._stopping.is_set():
                try:
                    if conn is None or conn.closed:
                        conn = psycopg.connect(self._log.database_url, autocommit=True)
                    self._log.extend_chain_fully(conn)
                except Exception:  # the database may be restarting: try again next time
                    log.warning("could not extend the global chain", exc_info=True)
                    if conn is not None:
                        conn.close()
                    conn = None
                self._stopping.wait(self._interval_s)
        finally:
            if conn is not None:
                conn.close()


def _previous_links(
    conn: psycopg.Connection[tuple[Any, ...]], rows: list[tuple[Any, ...]]
) -> dict[tuple[UUID, int], bytes]:
    """The stored links of the versions just before each row's, where they exist."""
    ids = [r[1] for r in rows if r[2] > 1]
    versions = [r[2] - 1 for r in rows if r[2] > 1]
    if not ids:
        return {}
    found = conn.execute(
        "SELECT l.originator_id, l.originator_version, l.link FROM ecovarejo_chain_links l "
        "JOIN unnest(%s::uuid[], %s::bigint[]) AS w(originator_id, originator_version) "
        "USING (originator_id, originator_version)",
        (ids, versions),
    ).fetchall()
    return {(oid, version): bytes(value) for oid, version, value in found}


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
    """Create the chain tables and functions, and chain every event written so far."""
    with psycopg.connect(database_url) as conn:
        conn.execute("SELECT pg_advisory_xact_lock(7201)")
        conn.execute(CHAIN_DDL)
    EventLog(database_url).extend_chain_fully()
