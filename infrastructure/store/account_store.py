"""The account adapters that hold live state: the e-mail blind index (PostgreSQL), refresh
token families, the revocation list and the sign-in throttle (Redis).

The blind index is a table, not events: erasure must be able to delete its entry. Its key
(HMAC-SHA256) is a server key kept like the data keys, wrapped by the master key. Redis
holds only digests and ids: a refresh token is stored as its SHA-256, a client address and
an e-mail only as keyed digests. Dropping Redis signs everyone out; it loses no account.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import threading
from typing import Any

import psycopg
import redis
from psycopg_pool import ConnectionPool

from application.keys import KeyStore

INDEX_KEY_SUBJECT = "server:account-email-index"
_CREATE = """
CREATE TABLE IF NOT EXISTS ecovarejo_account_emails (
    blind_index text PRIMARY KEY,
    customer_id text NOT NULL UNIQUE
)
"""


def normalised(email: str) -> str:
    return email.strip().lower()


def create_index_table(database_url: str) -> None:
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("SELECT pg_advisory_lock(7225)")
        try:
            conn.execute(_CREATE)
        finally:
            conn.execute("SELECT pg_advisory_unlock(7225)")


# One small pool per database and process: a sign-in or registration looks the index up at
# least once, and a new connection each time cost more than the query (TLS, auth, backend).
_pools: dict[str, ConnectionPool[Any]] = {}
_pools_lock = threading.Lock()


def _pool(database_url: str) -> ConnectionPool[Any]:
    with _pools_lock:
        if database_url not in _pools:
            _pools[database_url] = ConnectionPool(
                database_url, min_size=0, max_size=4, kwargs={"autocommit": True}, open=True
            )
        return _pools[database_url]


class PostgresEmailIndex:
    def __init__(self, database_url: str, keys: KeyStore):
        self.database_url = database_url
        self._key = keys.key_for(INDEX_KEY_SUBJECT)
        create_index_table(database_url)
        self.pool = _pool(database_url)

    def blind(self, text: str) -> str:
        return hmac.new(self._key, text.encode(), hashlib.sha256).hexdigest()

    def find(self, email: str) -> str | None:
        with self.pool.connection() as conn:
            row = conn.execute(
                "SELECT customer_id FROM ecovarejo_account_emails WHERE blind_index = %s",
                (self.blind(normalised(email)),),
            ).fetchone()
        return str(row[0]) if row else None

    def claim(self, email: str, customer_id: str) -> bool:
        with self.pool.connection() as conn:
            cursor = conn.execute(
                "INSERT INTO ecovarejo_account_emails (blind_index, customer_id) VALUES (%s, %s) "
                "ON CONFLICT DO NOTHING",
                (self.blind(normalised(email)), customer_id),
            )
            return cursor.rowcount == 1

    def release(self, customer_id: str) -> None:
        with self.pool.connection() as conn:
            conn.execute(
                "DELETE FROM ecovarejo_account_emails WHERE customer_id = %s", (customer_id,)
            )


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


REVOKED_JTI = "auth:revoked:jti:"
REVOKED_FAMILY = "auth:revoked:fam:"
REVOKED_SUBJECT = "auth:revoked:sub:"


class RedisTokenStore:
    def __init__(self, client: redis.Redis):
        self.client = client

    def issue_refresh(self, sub: str, family: str, ttl_s: int) -> str:
        token = secrets.token_urlsafe(32)
        record = json.dumps({"sub": sub, "fam": family})
        self.client.set(f"auth:rt:{_digest(token)}", record, ex=ttl_s)
        return token

    def use_refresh(self, token: str) -> tuple[str, str, bool] | None:
        if not token or len(token) > 200:
            return None
        key = _digest(token)
        raw = self.client.get(f"auth:rt:{key}")
        if raw is None:
            return None
        record = json.loads(raw)
        ttl = max(int(self.client.ttl(f"auth:rt:{key}")), 1)
        # The first use claims the token; any later one is a reuse (RFC 9700 §4.14.2).
        first = bool(self.client.set(f"auth:rt-used:{key}", "1", nx=True, ex=ttl))
        return str(record["sub"]), str(record["fam"]), first

    def revoke_family(self, family: str, ttl_s: int) -> None:
        self.client.set(REVOKED_FAMILY + family, "1", ex=ttl_s)

    def family_revoked(self, family: str) -> bool:
        return bool(self.client.exists(REVOKED_FAMILY + family))

    def revoke_jti(self, jti: str, ttl_s: int) -> None:
        self.client.set(REVOKED_JTI + jti, "1", ex=ttl_s)

    def revoke_subject(self, sub: str, at: float, ttl_s: int) -> None:
        self.client.set(REVOKED_SUBJECT + sub, str(int(at)), ex=ttl_s)


async def access_revoked(client: Any, sub: str, jti: str, family: str, issued_at: float) -> bool:
    """The one Redis round trip per request carrying one of our access tokens: revoked by
    its `jti` (logout), its family (reuse, logout, deactivation) or its subject (erasure,
    deactivation, password change: every token issued until then)."""
    jti_hit, family_hit, subject_at = await client.mget(
        REVOKED_JTI + jti, REVOKED_FAMILY + (family or "-"), REVOKED_SUBJECT + sub
    )
    if jti_hit is not None or (family and family_hit is not None):
        return True
    return subject_at is not None and issued_at <= int(subject_at)


class RedisThrottle:
    """Failures per key in a window; from the `free`-th on, each failure makes the key
    wait 2^n seconds (capped) before the next attempt."""

    def __init__(
        self,
        client: redis.Redis,
        free: int = 3,
        free_per_address: int = 20,
        cap_s: int = 60,
        window_s: int = 900,
    ):
        self.client = client
        self.free, self.free_per_address = free, free_per_address
        self.cap_s, self.window_s = cap_s, window_s

    def wait_s(self, keys: list[str], now: float) -> float:
        values = self.client.mget([f"auth:throttle:next:{k}" for k in keys])
        return max([float(v) - now for v in values if v is not None] + [0.0])

    def failed(self, keys: list[str], now: float) -> None:
        for key in keys:
            count = int(self.client.incr(f"auth:throttle:n:{key}"))
            self.client.expire(f"auth:throttle:n:{key}", self.window_s)
            # A client address may be a shop's NAT or a mobile carrier: more room.
            free = self.free_per_address if key.startswith("ip:") else self.free
            if count >= free:
                delay = min(2 ** (count - free), self.cap_s)
                self.client.set(f"auth:throttle:next:{key}", str(now + delay), ex=self.window_s)

    def succeeded(self, keys: list[str]) -> None:
        for key in keys:
            self.client.delete(f"auth:throttle:n:{key}", f"auth:throttle:next:{key}")
