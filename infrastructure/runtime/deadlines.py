"""The effects' deadlines as a table, swept when due, instead of a delayed broker message
per order (application/checkout/effects.py `DeadlineBook`).

`PostgresDeadlines` writes the dispatcher's deadlines in the transaction that records its
position (so a deadline is recorded exactly once, whatever crashes when), and deletes the
ones an event settled. `DeadlineSweeper` runs beside the dispatcher, under the effects
runner's lease (one per cluster): it claims the due rows (`FOR UPDATE SKIP LOCKED`), sends
each to the workers as a broker message for now, and deletes them in the same transaction;
a crash before that commit leaves the rows to the next sweep (the commands are idempotent:
they check state). It sleeps until the earliest due row (at most `IDLE_S`), or until the
dispatcher records an earlier one.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from eventsourcing.persistence import Tracking
from eventsourcing.postgres import PostgresTrackingRecorder
from psycopg.sql import SQL, Composed, Identifier

from application.checkout.effects import Deadline, Effect, EffectSender
from domain.base import now

log = logging.getLogger(__name__)

TABLE = "ecovarejo_deadlines"
SWEEP_BATCH = 200  # rows claimed by one transaction of the sweeper, at most
IDLE_S = 2.0  # the longest the sweeper sleeps (a row another process wrote is seen then)
MIN_SLEEP_S = 0.05  # the shortest, so that deadlines settled early cost few empty sweeps


def create_statements(schema: str) -> list[Composed]:
    table = Identifier(schema, TABLE)
    return [
        SQL(
            "CREATE TABLE IF NOT EXISTS {} (key text PRIMARY KEY, due timestamptz NOT NULL, "
            "aggregate_id text NOT NULL, action text NOT NULL, args text[] NOT NULL, "
            "correlation_id text NOT NULL, causation_id text NOT NULL)"
        ).format(table),
        SQL("CREATE INDEX IF NOT EXISTS {} ON {} (due)").format(Identifier(f"{TABLE}_due"), table),
        SQL("CREATE INDEX IF NOT EXISTS {} ON {} (aggregate_id)").format(
            Identifier(f"{TABLE}_aggregate"), table
        ),
    ]


def create_table(tracking: PostgresTrackingRecorder) -> None:
    """The table, in the schema of the effects' tracking table (`ecovarejo migrate`)."""
    with tracking.datastore.transaction(commit=True) as curs:
        for statement in create_statements(tracking.datastore.schema):
            curs.execute(statement)


class PostgresDeadlines:
    """The `DeadlineBook` on the effect dispatcher's own PostgreSQL tracking recorder."""

    def __init__(self, tracking: PostgresTrackingRecorder):
        self.tracking = tracking
        table = Identifier(tracking.datastore.schema, TABLE)
        self._delete = SQL(
            "DELETE FROM {} WHERE aggregate_id = ANY(%s) AND action = ANY(%s)"
        ).format(table)
        self._insert = SQL(
            "INSERT INTO {} VALUES (%s, %s, %s, %s, %s, %s, %s) ON CONFLICT (key) DO NOTHING"
        ).format(table)
        self._claim = SQL(
            "DELETE FROM {0} WHERE key IN (SELECT key FROM {0} WHERE due <= %s ORDER BY due "
            "LIMIT %s FOR UPDATE SKIP LOCKED) RETURNING action, args, correlation_id, "
            "causation_id"
        ).format(table)
        self._next = SQL("SELECT min(due) FROM {}").format(table)
        self.recorded: Callable[[datetime], None] = lambda due: None  # the sweeper's wake
        self.after_claim: datetime | None = None  # the earliest row the last claim left

    def record(
        self, due: list[Deadline], settled: list[tuple[str, tuple[str, ...]]], tracking: Tracking
    ) -> None:
        by_commands: dict[tuple[str, ...], list[str]] = {}
        for aggregate_id, commands in settled:
            by_commands.setdefault(commands, []).append(aggregate_id)
        with self.tracking.datastore.transaction(commit=True) as curs:
            for commands, aggregate_ids in by_commands.items():  # one statement per batch
                curs.execute(self._delete, (aggregate_ids, list(commands)), prepare=True)
            if len(due) == 1:  # most batches (executemany's pipeline costs more for one)
                curs.execute(self._insert, _row(due[0]), prepare=True)
            elif due:
                curs.executemany(self._insert, [_row(d) for d in due])
            self.tracking._insert_tracking(curs, tracking)
        if due:
            self.recorded(min(d.due for d in due))

    @contextmanager
    def claimed(self, at: datetime, limit: int = SWEEP_BATCH) -> Iterator[list[Effect]]:
        """The due effects, deleted when the block ends without an error (else left).
        `after_claim` is then the earliest row left (seen by the claiming transaction, so
        the sweeper needs no transaction of its own to ask)."""
        with self.tracking.datastore.transaction(commit=True) as curs:
            curs.execute(self._claim, (at, limit), prepare=True)
            effects = [_effect(row) for row in curs.fetchall()]
            curs.execute(self._next, prepare=True)
            row = curs.fetchone()
            self.after_claim = None if row is None else row["min"]
            yield effects

    def next_due(self) -> datetime | None:
        # Committed, not rolled back: a rollback of a transaction that prepared a statement
        # makes psycopg send DEALLOCATE ALL, and every statement of that connection is
        # prepared again (the dispatcher's writes share the pool).
        with self.tracking.datastore.transaction(commit=True) as curs:
            curs.execute(self._next, prepare=True)
            row = curs.fetchone()
        return None if row is None else row["min"]


def _row(deadline: Deadline) -> tuple[Any, ...]:
    effect = deadline.effect
    return (
        deadline.key,
        deadline.due,
        effect.args[0],
        effect.action,
        list(effect.args),
        effect.correlation_id,
        effect.causation_id,
    )


def _effect(row: dict[str, Any]) -> Effect:
    return Effect(row["action"], tuple(row["args"]), row["correlation_id"], row["causation_id"])


class DeadlineSweeper:
    """Sends the book's due deadlines to the workers (see the module's docstring)."""

    def __init__(self, book: PostgresDeadlines, sender: EffectSender):
        self.book = book
        self.sender = sender
        self.sent = 0  # effects sent (for tests)
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._next: datetime | None = None  # the earliest due row known
        self._thread: threading.Thread | None = None
        book.recorded = self._recorded

    def start(self) -> None:
        self._stopping.clear()
        self._thread = threading.Thread(target=self._run, name="deadline-sweeper", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(10)
            self._thread = None

    def sweep(self, at: datetime | None = None) -> int:
        """Send what is due now (or `at`); how many were sent."""
        with self.book.claimed(at or now()) as due:
            for effect in due:
                self.sender.send(effect)
        self.sent += len(due)
        return len(due)

    def _recorded(self, due: datetime) -> None:
        if self._next is None or due < self._next:
            self._next = due
            self._wake.set()

    def _run(self) -> None:
        backoff = 0.1
        while not self._stopping.is_set():
            self._wake.clear()  # a deadline recorded from here on wakes the sleep below
            try:
                if self.sweep() >= SWEEP_BATCH:
                    continue  # more are due
                # The earliest row left, as the sweep's own transaction saw it (one recorded
                # since has set the wake-up: the sleep below ends at once and sweeps again).
                self._next = self.book.after_claim
                backoff = 0.1
            except Exception:  # the database or the broker went away: try again later
                log.warning("the deadline sweep failed; trying again", exc_info=True)
                self._stopping.wait(backoff)
                backoff = min(backoff * 2, IDLE_S)
                continue
            self._sleep()

    def _sleep(self) -> None:
        wait = IDLE_S
        if self._next is not None:
            wait = min(IDLE_S, (self._next - now()).total_seconds())
        if wait > 0:
            self._wake.wait(wait)
        self._stopping.wait(MIN_SLEEP_S)
