"""The PostgreSQL event store: the library's settings from our Settings, and the guard
that makes PostgreSQL itself refuse to rewrite history."""

from __future__ import annotations

from urllib.parse import unquote, urlsplit

import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict

EVENTS_TABLE = "ecovarejo_events"

# The library's general aggregate cache stays off, whatever the process environment says
# (the library reads os.environ too, and a prefixed name wins): a cached order would keep
# personal data decrypted after the customer's key is destroyed (with AGGREGATE_CACHE_MAXSIZE
# set, tests/integration/test_lgpd.py reads an erased order's address back). The
# application caches stock items only (application/event_store.py: StockItemCache).
AGGREGATE_CACHE_OFF = {"AGGREGATE_CACHE_MAXSIZE": "", "ECOVAREJO_AGGREGATE_CACHE_MAXSIZE": ""}


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
