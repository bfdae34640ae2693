"""The PostgreSQL event store: the library's settings from our Settings, and the guard
that makes PostgreSQL itself refuse to rewrite history."""

from __future__ import annotations

import time
from collections.abc import Sequence
from urllib.parse import unquote, urlsplit

import psycopg
from eventsourcing.persistence import ApplicationRecorder, Subscription
from eventsourcing.postgres import PostgresApplicationRecorder, PostgresSubscription
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict
from psycopg.sql import SQL, Identifier

EVENTS_TABLE = "ecovarejo_events"

# The library's general aggregate cache stays off, whatever the process environment says
# (the library reads os.environ too, and a prefixed name wins): a cached order would keep
# personal data decrypted after the customer's key is destroyed (with AGGREGATE_CACHE_MAXSIZE
# set, tests/integration/test_lgpd.py reads an erased order's address back). The
# application caches stock items only (application/event_store.py: StockItemCache).
AGGREGATE_CACHE_OFF = {"AGGREGATE_CACHE_MAXSIZE": "", "ECOVAREJO_AGGREGATE_CACHE_MAXSIZE": ""}


class GaplessSubscription(PostgresSubscription):
    """The library's subscription reads what is recorded, then LISTENs in another thread:
    an event committed between the two is not seen until the next NOTIFY, which may never
    come. This one reads again once LISTEN is in place, and every few seconds after, so a
    follower never waits on an event that is already in the log."""

    REREAD_S = 5.0

    def _listen(self) -> None:
        try:
            with self._recorder.datastore.get_connection() as conn:
                conn.execute(SQL("LISTEN {0}").format(Identifier(self._recorder.channel_name)))
                self._has_been_notified.set()  # whatever committed before LISTEN
                reread_at = time.monotonic() + self.REREAD_S
                while not self._has_been_stopped and not self._thread_error:
                    for _ in conn.notifies(timeout=0.1, stop_after=1):
                        self._has_been_notified.set()
                    if time.monotonic() >= reread_at:
                        self._has_been_notified.set()
                        reread_at = time.monotonic() + self.REREAD_S
        except BaseException as error:
            if self._thread_error is None:
                self._thread_error = error
            self.stop()


class EventStoreRecorder(PostgresApplicationRecorder):
    """The library's recorder, with subscriptions that cannot miss an event at start."""

    def subscribe(
        self, gt: int | None = None, topics: Sequence[str] = ()
    ) -> Subscription[ApplicationRecorder]:
        return GaplessSubscription(recorder=self, gt=gt, topics=topics)


def eventsourcing_env(database_url: str, pool_size: int = 5) -> dict[str, str]:
    """Translate a DATABASE_URL into the `eventsourcing` library's POSTGRES_* settings."""
    params = conninfo_to_dict(database_url)
    parts = urlsplit(database_url)
    host = str(params.get("host") or parts.hostname or "localhost")
    return {
        "PERSISTENCE_MODULE": "eventsourcing.postgres",
        "POSTGRES_DBNAME": str(
            params.get("dbname") or unquote(parts.path.lstrip("/")) or "postgres"
        ),
        "POSTGRES_HOST": host,
        "POSTGRES_PORT": str(params.get("port") or parts.port or 5432),
        "POSTGRES_USER": str(params.get("user") or parts.username or "postgres"),
        "POSTGRES_PASSWORD": str(params.get("password") or parts.password or ""),
        "POSTGRES_POOL_SIZE": str(pool_size),
        "POSTGRES_MAX_OVERFLOW": str(pool_size),
        "POSTGRES_CONNECT_TIMEOUT": "10",
        "POSTGRES_LOCK_TIMEOUT": "10",
        "CREATE_TABLE": "y",
        "KEY_STORE_TOPIC": "infrastructure.keys:PostgresKeyStore",
        "APPLICATION_RECORDER_TOPIC": "infrastructure.event_store:EventStoreRecorder",
        **AGGREGATE_CACHE_OFF,
    }


_IMMUTABLE_FUNCTION = """
CREATE OR REPLACE FUNCTION ecovarejo_refuse_event_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'events are immutable: % on % is refused', TG_OP, TG_TABLE_NAME
    USING ERRCODE = 'insufficient_privilege';
END $$
"""


def install_immutability_guard(database_url: str, table: str = EVENTS_TABLE) -> None:
    """Make PostgreSQL refuse UPDATE, DELETE and TRUNCATE on the events table. Idempotent."""
    rows = sql.Identifier(f"{table}_refuse_update_delete")
    trunc = sql.Identifier(f"{table}_refuse_truncate")
    target = sql.Identifier(table)
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("SELECT pg_advisory_lock(7201)")  # concurrent starters don't race
        try:
            conn.execute(_IMMUTABLE_FUNCTION)
            conn.execute(
                sql.SQL(
                    "CREATE OR REPLACE TRIGGER {} BEFORE UPDATE OR DELETE ON {} "
                    "FOR EACH ROW EXECUTE FUNCTION ecovarejo_refuse_event_change()"
                ).format(rows, target)
            )
            conn.execute(
                sql.SQL(
                    "CREATE OR REPLACE TRIGGER {} BEFORE TRUNCATE ON {} "
                    "FOR EACH STATEMENT EXECUTE FUNCTION ecovarejo_refuse_event_change()"
                ).format(trunc, target)
            )
        finally:
            conn.execute("SELECT pg_advisory_unlock(7201)")
