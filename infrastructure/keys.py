"""Per-subject data keys in PostgreSQL, in their own table (which, unlike the events,
allows DELETE: destroying a key is how personal data is erased)."""

from __future__ import annotations

import os
import threading
import time
from typing import Any

from eventsourcing.utils import Environment
from psycopg_pool import ConnectionPool

KEYS_TABLE = "ecovarejo_subject_keys"
CACHE_TTL_S = 5.0  # another process may still decrypt for this long after an erasure

_CREATE = """
CREATE TABLE IF NOT EXISTS ecovarejo_subject_keys (
    subject text PRIMARY KEY,
    data_key bytea NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
)
"""
# One pool and one cache per database and process, shared by every application instance,
# so an erasure in this process is seen at once by all of them.
_shared: dict[str, tuple[ConnectionPool[Any], dict[str, tuple[bytes, float]]]] = {}
_shared_lock = threading.Lock()


def _pool_and_cache(conninfo: str) -> tuple[ConnectionPool[Any], dict[str, tuple[bytes, float]]]:
    with _shared_lock:
        if conninfo not in _shared:
            pool: ConnectionPool[Any] = ConnectionPool(conninfo, min_size=1, max_size=4, open=True)
            with pool.connection() as conn:
                conn.execute("SELECT pg_advisory_xact_lock(7202)")
                conn.execute(_CREATE)
            _shared[conninfo] = (pool, {})
        return _shared[conninfo]


class PostgresKeyStore:
    def __init__(self, conninfo: str):
        self.pool, self._cache = _pool_and_cache(conninfo)

    @classmethod
    def from_env(cls, env: Environment) -> PostgresKeyStore:
        parts = {
            "dbname": env.get("POSTGRES_DBNAME"),
            "host": env.get("POSTGRES_HOST"),
            "port": env.get("POSTGRES_PORT"),
            "user": env.get("POSTGRES_USER"),
            "password": env.get("POSTGRES_PASSWORD"),
        }
        conninfo = " ".join(f"{k}='{v}'" for k, v in parts.items() if v)
        return cls(conninfo)

    def _cached(self, subject: str) -> bytes | None:
        hit = self._cache.get(subject)
        if hit is not None and hit[1] > time.monotonic():
            return hit[0]
        return None

    def _remember(self, subject: str, key: bytes) -> bytes:
        self._cache[subject] = (key, time.monotonic() + CACHE_TTL_S)
        return key

    def key_for(self, subject: str) -> bytes:
        cached = self._cached(subject)
        if cached is not None:
            return cached
        with self.pool.connection() as conn:
            conn.execute(
                "INSERT INTO ecovarejo_subject_keys (subject, data_key) VALUES (%s, %s) "
                "ON CONFLICT (subject) DO NOTHING",
                (subject, os.urandom(32)),
            )
            row = conn.execute(
                "SELECT data_key FROM ecovarejo_subject_keys WHERE subject = %s", (subject,)
            ).fetchone()
        assert row is not None
        return self._remember(subject, bytes(row[0]))

    def existing_key(self, subject: str) -> bytes | None:
        cached = self._cached(subject)
        if cached is not None:
            return cached
        with self.pool.connection() as conn:
            row = conn.execute(
                "SELECT data_key FROM ecovarejo_subject_keys WHERE subject = %s", (subject,)
            ).fetchone()
        return None if row is None else self._remember(subject, bytes(row[0]))

    def destroy(self, subject: str) -> bool:
        self._cache.pop(subject, None)
        with self.pool.connection() as conn:
            deleted = conn.execute(
                "DELETE FROM ecovarejo_subject_keys WHERE subject = %s", (subject,)
            ).rowcount
        return deleted > 0
