"""Reading the raw log for auditors: an aggregate's events with their positions, a
customer's aggregates, and the tamper-evidence chain."""

from __future__ import annotations

import hashlib
import json
import logging
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any
from uuid import UUID

import psycopg
from eventsourcing.persistence import Notification

log = logging.getLogger(__name__)

# Events linked into the global chain per transaction: its transaction holds followers back
# while it runs (they read below the oldest transaction in flight), so it stays short.
CHAIN_BATCH = 1_000

CUSTOMER_TOPICS = (
    "domain.cart:Cart.Created",
    "domain.order:Order.Placed",
    "domain.payment:Payment.Requested",
    "domain.returns:Return.Requested",
)
# Events about the customer inside an aggregate that is not theirs (a promotion's uses):
# exported one by one, never as the whole aggregate (which names other customers).
CUSTOMER_RECORD_TOPICS = ("domain.promotion:Promotion.UseHeld",)

# Tamper evidence in two layers, neither of which serializes writers:
#
# 1. Stream links, written by PostgreSQL itself in the transaction that inserts each event
#    (trigger `ecovarejo_events_chain`): link = sha256(link of the same aggregate's previous
#    version || position || originator id || version || topic || state). Appends to
#    different aggregates never touch the same rows; two appends to one aggregate already
#    conflict on its version. Cannot fall behind.
# 2. The global chain, kept by a chaining follower (`ecovarejo_extend_chain`, run by every
#    worker about once a second; one at a time): global = sha256(previous global || stream
#    link), in log order, over events below the oldest transaction in flight, so its order
#    is final. It catches what stream links alone cannot: a deleted aggregate, or the
#    deleted last events of one. Its lag is reported by `audit verify`.
#
# `ecovarejo_audit_chain` (the single chain of earlier versions, made under a table lock)
# is no longer written; its rows stay as they were.
CHAIN_DDL = """
CREATE TABLE IF NOT EXISTS ecovarejo_chain_links (
  originator_id uuid NOT NULL, originator_version bigint NOT NULL,
  position bigint NOT NULL, link bytea NOT NULL,
  PRIMARY KEY (originator_id, originator_version));
CREATE TABLE IF NOT EXISTS ecovarejo_chain_global (
  position bigint PRIMARY KEY, link bytea NOT NULL);
CREATE OR REPLACE FUNCTION ecovarejo_link_of(bytea, bigint, uuid, bigint, text, bytea)
RETURNS bytea LANGUAGE sql IMMUTABLE AS $$
  SELECT sha256(coalesce($1, ''::bytea) || int8send($2) || uuid_send($3) || int8send($4)
    || convert_to($5, 'UTF8') || $6)
$$;
CREATE OR REPLACE FUNCTION ecovarejo_chain_event() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE previous bytea;
BEGIN
  SELECT link INTO previous FROM ecovarejo_chain_links
    WHERE originator_id = NEW.originator_id AND originator_version = NEW.originator_version - 1;
  INSERT INTO ecovarejo_chain_links VALUES (NEW.originator_id, NEW.originator_version,
    NEW.notification_id, ecovarejo_link_of(previous, NEW.notification_id, NEW.originator_id,
    NEW.originator_version, NEW.topic, NEW.state));
  RETURN NULL;
END $$;
CREATE OR REPLACE TRIGGER ecovarejo_events_chain AFTER INSERT ON ecovarejo_events
  FOR EACH ROW EXECUTE FUNCTION ecovarejo_chain_event();
CREATE OR REPLACE FUNCTION ecovarejo_extend_chain(max_rows integer) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE head bigint; previous bytea; r record; n bigint := 0;
BEGIN
  IF NOT pg_try_advisory_xact_lock(7204) THEN
    RETURN 0;  -- another worker is extending it
  END IF;
  SELECT position, link INTO head, previous FROM ecovarejo_chain_global
    ORDER BY position DESC LIMIT 1;
  FOR r IN SELECT e.notification_id, l.link FROM ecovarejo_events e
      JOIN ecovarejo_chain_links l USING (originator_id, originator_version)
      WHERE e.notification_id > coalesce(head, 0)
        AND e.tx_id < pg_snapshot_xmin(pg_current_snapshot())
      ORDER BY e.notification_id LIMIT max_rows LOOP
    previous := sha256(coalesce(previous, ''::bytea) || r.link);
    INSERT INTO ecovarejo_chain_global VALUES (r.notification_id, previous);
    n := n + 1;
  END LOOP;
  RETURN n;
END $$;
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
    """The same hash as `ecovarejo_link_of`: the stream's previous link and the stored bytes."""
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


@dataclass(frozen=True)
class ChainReport:
    checked: int
    first_bad_position: int | None
    problem: str = ""
    globally_chained_to: int = 0  # the global chain's head
    not_yet_global: int = 0  # events after it, protected by their stream links only

    @property
    def ok(self) -> bool:
        return self.first_bad_position is None


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

    def extend_chain(self, max_rows: int = CHAIN_BATCH) -> int:
        """Extend the global chain over events whose place in the log is final; the
        number of events added (0 when another process holds the chaining lock)."""
        with psycopg.connect(self.database_url, autocommit=True) as conn:
            row = conn.execute("SELECT ecovarejo_extend_chain(%s)", (max_rows,)).fetchone()
        return int(row[0]) if row else 0

    def extend_chain_fully(self) -> None:
        while self.extend_chain() == CHAIN_BATCH:
            pass

    def verify_chain(
        self, batch: int = 5000, progress: Callable[[int, int], None] | None = None
    ) -> ChainReport:
        """Recompute every stream link and the global chain from the stored events.
        `progress(checked, head)` is called every `batch` events and at the end."""
        streams: dict[UUID, tuple[int, bytes]] = {}  # aggregate -> (version, recomputed link)
        previous_global, checked, global_head, beyond = b"", 0, 0, 0
        head = self._head() if progress is not None else 0
        for row in self._rows(batch):
            if progress is not None and checked and checked % batch == 0:
                progress(checked, head)
            position, event, stored_link, stored_global = row
            if event is None:
                return ChainReport(checked, position, "a chained event is missing (deleted)")
            if stored_link is None:
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
    """Extends the global chain about once a second, in a daemon thread (every worker runs
    one; `ecovarejo_extend_chain` lets one at a time do the work)."""

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
        while not self._stopping.is_set():
            try:
                self._log.extend_chain_fully()
            except Exception:  # the database may be restarting: try again next time
                log.warning("could not extend the global chain", exc_info=True)
            self._stopping.wait(self._interval_s)


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
    """Create the chain tables, functions and trigger; link any events written before the
    stream links existed (in log order), and bring the global chain up to date."""
    with psycopg.connect(database_url) as conn:
        conn.execute("SELECT pg_advisory_xact_lock(7201)")
        conn.execute(CHAIN_DDL)
        rows = conn.execute(
            "SELECT e.notification_id, e.originator_id, e.originator_version, e.topic, e.state "
            "FROM ecovarejo_events e WHERE NOT EXISTS (SELECT FROM ecovarejo_chain_links l "
            "WHERE l.originator_id = e.originator_id "
            "AND l.originator_version = e.originator_version) ORDER BY e.notification_id"
        ).fetchall()
        for row in rows:
            previous_row = conn.execute(
                "SELECT link FROM ecovarejo_chain_links WHERE originator_id = %s "
                "AND originator_version = %s",
                (row[1], row[2] - 1),
            ).fetchone()
            previous = bytes(previous_row[0]) if previous_row else b""
            conn.execute(
                "INSERT INTO ecovarejo_chain_links VALUES (%s, %s, %s, %s)",
                (
                    row[1],
                    row[2],
                    row[0],
                    link(previous, row[0], row[1], row[2], row[3], bytes(row[4])),
                ),
            )
    EventLog(database_url).extend_chain_fully()
