"""Per-subject data keys in PostgreSQL, stored only wrapped by the master key.

The table allows DELETE (unlike the events): destroying a key is how personal data is
erased. Each row holds the data key sealed by the key-encryption key (AES-GCM, the subject
as associated data) and the id of the master key that sealed it; a one-row table records
the current master key id, so a process holding a stale key can neither read nor write.
A database dump therefore holds wrapped keys and ciphertext, and opens nothing without the
master key, which lives outside the database (ECOVAREJO_MASTER_KEY, a file in the data dir,
or a KMS behind the `KeyWrapper` port).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import secrets
import threading
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from eventsourcing.utils import Environment
from psycopg import Connection
from psycopg_pool import ConnectionPool

from application.keys import KeyWrapper, WrongMasterKeyError
from infrastructure.keys.erasure_ledger import ErasureLedger

KEYS_TABLE = "ecovarejo_subject_keys"
CACHE_TTL_S = 5.0  # another process may still decrypt for this long after an erasure
CACHE_MAX = 10_000  # subjects' keys cached at most: one entry per customer seen would grow
MASTER_KEY_FILE = "master-key"

_CREATE = """
CREATE TABLE IF NOT EXISTS ecovarejo_key_meta (
    id int PRIMARY KEY CHECK (id = 1),
    master_key_id text NOT NULL,
    rotated_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE IF NOT EXISTS ecovarejo_subject_keys (
    subject text PRIMARY KEY,
    wrapped_key bytea NOT NULL,
    master_key_id text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
)
"""


# The master key ------------------------------------------------------------------------
def generate_master_key() -> str:
    return base64.urlsafe_b64encode(secrets.token_bytes(32)).decode()


def parse_master_key(text: str) -> bytes:
    """32 bytes in base64 (standard or URL-safe); ValueError otherwise."""
    cleaned = text.strip()
    try:
        raw = base64.urlsafe_b64decode(cleaned.replace("+", "-").replace("/", "_"))
    except (binascii.Error, ValueError):
        raw = b""
    if len(raw) != 32:
        raise ValueError(
            "the master key must be 32 random bytes in base64 (`ecovarejo keys generate`)"
        )
    return raw


class LocalMasterKey:
    """A master key held by this process. With `path`, it re-reads the file when the
    database says the key was rotated (embedded mode: `keys rotate` replaces the file)."""

    kind = "local"

    def __init__(self, text: str, path: Path | None = None):
        self._set(parse_master_key(text))
        self.path = path

    def __repr__(self) -> str:  # never the key
        return f"LocalMasterKey(id={self._id})"

    @classmethod
    def from_env(cls, env: Environment) -> LocalMasterKey:
        text = env.get("MASTER_KEY")
        if not text:
            raise RuntimeError(
                "no master key (ECOVAREJO_MASTER_KEY): personal data cannot be stored"
            )
        path = env.get("MASTER_KEY_PATH")
        return cls(text, Path(path) if path else None)

    def as_env(self) -> dict[str, str]:
        """How application instances built from an environment find this key."""
        env = {
            "ECOVAREJO_KEY_WRAPPER": self.kind,
            "ECOVAREJO_MASTER_KEY": base64.urlsafe_b64encode(self._key).decode(),
        }
        if self.path is not None:
            env["ECOVAREJO_MASTER_KEY_PATH"] = str(self.path)
        return env

    def _set(self, key: bytes) -> None:
        self._key = key
        self._aead = AESGCM(key)
        self._id = hmac.new(key, b"ecovarejo master key id", hashlib.sha256).hexdigest()[:16]

    @property
    def key_id(self) -> str:
        return self._id

    def reload(self) -> bool:
        """Re-read the key file; True if the key changed."""
        if self.path is None or not self.path.exists():
            return False
        before = self._id
        self._set(parse_master_key(self.path.read_text()))
        return self._id != before

    def wrap(self, data_key: bytes, subject: str) -> bytes:
        nonce = os.urandom(12)
        return nonce + self._aead.encrypt(nonce, data_key, _context(subject))

    def unwrap(self, wrapped: bytes, subject: str) -> bytes:
        try:
            return self._aead.decrypt(wrapped[:12], wrapped[12:], _context(subject))
        except InvalidTag:
            raise WrongMasterKeyError("the master key does not open this data key") from None


def _context(subject: str) -> bytes:
    return b"ecovarejo data key:" + subject.encode()


def wrapper_from_env(env: Environment) -> KeyWrapper:
    from infrastructure.keys.wrappers import wrapper_from_env as from_registry

    return from_registry(env)


# The store ------------------------------------------------------------------------------
def _migrate_plaintext_keys(conn: Connection[Any], wrapper: KeyWrapper) -> int:
    """The first version kept data keys in plaintext (`data_key`). Wrap them into a new
    table and drop the old one, so its files (and the plaintext keys) leave the data dir."""
    # The catalog itself, not `information_schema.columns` (a view whose planning and
    # privilege checks cost ~10 ms on a new connection, at every process's start): the
    # same question, the table of that name in the current schema.
    old = conn.execute(
        "SELECT 1 FROM pg_attribute WHERE attrelid = "
        "to_regclass(quote_ident(current_schema()) || '.' || quote_ident(%s)) "
        "AND attname = 'data_key' AND NOT attisdropped",
        (KEYS_TABLE,),
    ).fetchone()
    if old is None:
        return 0
    conn.execute("ALTER TABLE ecovarejo_subject_keys RENAME TO ecovarejo_subject_keys_plaintext")
    conn.execute(
        "ALTER INDEX IF EXISTS ecovarejo_subject_keys_pkey "
        "RENAME TO ecovarejo_subject_keys_plaintext_pkey"
    )
    conn.execute(_CREATE)
    rows = conn.execute(
        "SELECT subject, data_key, created_at FROM ecovarejo_subject_keys_plaintext"
    ).fetchall()
    for subject, data_key, created_at in rows:
        conn.execute(
            "INSERT INTO ecovarejo_subject_keys (subject, wrapped_key, master_key_id, created_at) "
            "VALUES (%s, %s, %s, %s)",
            (subject, wrapper.wrap(bytes(data_key), subject), wrapper.key_id, created_at),
        )
    conn.execute("DROP TABLE ecovarejo_subject_keys_plaintext")
    return len(rows)


def set_up_key_tables(conn: Connection[Any], wrapper: KeyWrapper) -> str:
    """Create (or migrate) the tables; the master key id on record, which is this key's on a
    fresh database. Call inside a transaction."""
    conn.execute("SELECT pg_advisory_xact_lock(7202)")
    conn.execute(_CREATE)
    _migrate_plaintext_keys(conn, wrapper)
    conn.execute(
        "INSERT INTO ecovarejo_key_meta (id, master_key_id) VALUES (1, %s) "
        "ON CONFLICT (id) DO NOTHING",
        (wrapper.key_id,),
    )
    row = conn.execute("SELECT master_key_id FROM ecovarejo_key_meta WHERE id = 1").fetchone()
    assert row is not None
    return str(row[0])


# One pool and one cache per database and process, shared by every application instance,
# so an erasure in this process is seen at once by all of them. The containers wired on a
# database hold it (`hold_key_pool`); when the last one closes, the pool and its cached
# keys go: a process that wires and closes many systems (tests, a restore check) would
# otherwise keep one pool, its threads and its unwrapped keys per database it ever opened.
_shared: dict[str, tuple[ConnectionPool[Any], dict[str, tuple[bytes, float]]]] = {}
_holders: dict[str, int] = {}
_shared_lock = threading.Lock()
# Subjects whose key this process destroyed: their keys are never cached again (a new key
# made for the same subject later is simply read from the database each time).
_destroyed: set[str] = set()


def _pool_and_cache(
    conninfo: str, wrapper: KeyWrapper
) -> tuple[ConnectionPool[Any], dict[str, tuple[bytes, float]]]:
    shared = _shared.get(conninfo)  # a dict read is atomic: no lock on the hot path
    if shared is not None:
        return shared
    with _shared_lock:
        if conninfo not in _shared:
            pool: ConnectionPool[Any] = ConnectionPool(conninfo, min_size=1, max_size=4, open=True)
            try:
                with pool.connection() as conn:
                    set_up_key_tables(conn, wrapper)
            except BaseException:
                pool.close()
                raise
            _shared[conninfo] = (pool, {})
        return _shared[conninfo]


def hold_key_pool(conninfo: str) -> None:
    """A container wired on this database: its key pool stays open until `release_key_pool`."""
    with _shared_lock:
        _holders[conninfo] = _holders.get(conninfo, 0) + 1


def release_key_pool(conninfo: str) -> None:
    """The last holder of this database's keys is gone: close its pool, drop its keys."""
    with _shared_lock:
        left = _holders.get(conninfo, 0) - 1
        if left > 0:
            _holders[conninfo] = left
            return
        _holders.pop(conninfo, None)
        shared = _shared.pop(conninfo, None)
    if shared is not None:
        shared[1].clear()
        shared[0].close()


def _evict(cache: dict[str, tuple[bytes, float]], now: float) -> None:
    """Drop expired keys (and, if the cache is still full, the older half): without it,
    every customer ever seen would stay in memory (issue 24's soak)."""
    with _shared_lock:
        for subject in [s for s, (_, expires) in cache.items() if expires <= now]:
            cache.pop(subject, None)
        if len(cache) >= CACHE_MAX:
            for subject in list(cache)[: len(cache) // 2]:
                cache.pop(subject, None)


def forget_cached_keys() -> None:
    """Drop every unwrapped key this process holds (after a rotation)."""
    with _shared_lock:
        for _, cache in _shared.values():
            cache.clear()


class PostgresKeyStore:
    def __init__(self, conninfo: str, wrapper: KeyWrapper, ledger: ErasureLedger | None = None):
        self.wrapper = wrapper
        self.ledger = ledger  # where destroyed keys are recorded, outside the database
        self.conninfo = conninfo
        _pool_and_cache(conninfo, wrapper)  # the key tables exist before the first use

    @property
    def pool(self) -> ConnectionPool[Any]:
        """The process's pool for this database (a new one if its holders closed it)."""
        return _pool_and_cache(self.conninfo, self.wrapper)[0]

    @property
    def _cache(self) -> dict[str, tuple[bytes, float]]:
        return _pool_and_cache(self.conninfo, self.wrapper)[1]

    @classmethod
    def from_env(cls, env: Environment) -> PostgresKeyStore:
        path = env.get("ERASURE_LEDGER")
        ledger = ErasureLedger(Path(path)) if path else None
        return cls(conninfo_from_env(env), wrapper_from_env(env), ledger)

    def _cached(self, subject: str) -> bytes | None:
        hit = self._cache.get(subject)
        if hit is not None and hit[1] > time.monotonic():
            return hit[0]
        return None

    def _remember(self, subject: str, key: bytes) -> bytes:
        if subject not in _destroyed:
            now = time.monotonic()
            if len(self._cache) >= CACHE_MAX:
                _evict(self._cache, now)
            self._cache[subject] = (key, now + CACHE_TTL_S)
        return key

    def _current(self, key_id: str) -> None:
        """Make sure this process wraps and unwraps with the key `key_id` names."""
        if key_id == self.wrapper.key_id:
            return
        reload: Callable[[], bool] | None = getattr(self.wrapper, "reload", None)
        if reload is not None and reload() and key_id == self.wrapper.key_id:
            return
        raise WrongMasterKeyError(
            f"the data keys are wrapped by master key {key_id}, this process holds "
            f"{self.wrapper.key_id}: restart it with the current ECOVAREJO_MASTER_KEY"
        )

    def _unwrap(self, subject: str, row: tuple[Any, ...]) -> bytes:
        self._current(str(row[1]))
        return self._remember(subject, self.wrapper.unwrap(bytes(row[0]), subject))

    def key_for(self, subject: str) -> bytes:
        cached = self._cached(subject)
        if cached is not None:
            return cached
        with self.pool.connection() as conn:
            row = self._select(conn, subject)
            if row is None:
                # FOR SHARE: a rotation (which takes this row FOR UPDATE) waits for us.
                meta = conn.execute(
                    "SELECT master_key_id FROM ecovarejo_key_meta WHERE id = 1 FOR SHARE"
                ).fetchone()
                assert meta is not None
                self._current(str(meta[0]))
                conn.execute(
                    "INSERT INTO ecovarejo_subject_keys (subject, wrapped_key, master_key_id) "
                    "VALUES (%s, %s, %s) ON CONFLICT (subject) DO NOTHING",
                    (subject, self.wrapper.wrap(os.urandom(32), subject), self.wrapper.key_id),
                )
                row = self._select(conn, subject)
        assert row is not None
        return self._unwrap(subject, row)

    @staticmethod
    def _select(conn: Connection[Any], subject: str) -> tuple[Any, ...] | None:
        return conn.execute(
            "SELECT wrapped_key, master_key_id FROM ecovarejo_subject_keys WHERE subject = %s",
            (subject,),
        ).fetchone()

    def existing_key(self, subject: str) -> bytes | None:
        cached = self._cached(subject)
        if cached is not None:
            return cached
        with self.pool.connection() as conn:
            row = self._select(conn, subject)
        return None if row is None else self._unwrap(subject, row)

    def destroy(self, subject: str) -> bool:
        # A reader of this process that fetched the key before the DELETE commits must not
        # cache it again: it is marked destroyed first, and dropped again after the commit.
        _destroyed.add(subject)
        self._cache.pop(subject, None)
        with self.pool.connection() as conn:
            row = conn.execute(
                "SELECT created_at FROM ecovarejo_subject_keys WHERE subject = %s FOR UPDATE",
                (subject,),
            ).fetchone()
            if row is not None:
                if self.ledger is not None:
                    # On disk before the row goes: a restore of an older backup destroys
                    # this key again (infrastructure/erasure_ledger).
                    self.ledger.record(subject, row[0])
                conn.execute("DELETE FROM ecovarejo_subject_keys WHERE subject = %s", (subject,))
        self._cache.pop(subject, None)
        return row is not None


def conninfo_from_env(env: Environment | Mapping[str, str]) -> str:
    """The key store's connection string, from the library's environment or a plain one."""
    parts = {
        "dbname": env.get("POSTGRES_DBNAME"),
        "host": env.get("POSTGRES_HOST"),
        "port": env.get("POSTGRES_PORT"),
        "user": env.get("POSTGRES_USER"),
        "password": env.get("POSTGRES_PASSWORD"),
    }
    return " ".join(f"{k}='{v}'" for k, v in parts.items() if v)


def other_key_on_record(conn: Connection[Any], key_id: str) -> str | None:
    """Lock the record of which key wraps the data keys (writers wait on it); the key on
    record when it is not `key_id` ("none" when there is no record), else None."""
    meta = conn.execute(
        "SELECT master_key_id FROM ecovarejo_key_meta WHERE id = 1 FOR UPDATE"
    ).fetchone()
    if meta is not None and meta[0] == key_id:
        return None
    return str(meta[0]) if meta else "none"


def rewrap_all(conn: Connection[Any], current: KeyWrapper, new: KeyWrapper) -> int:
    """Re-wrap every data key under `new`, in the caller's transaction; the number of keys.
    `WrongMasterKeyError` (and nothing changed, once the caller rolls back) when `current`
    is not the key on record or does not open every data key."""
    if (on_record := other_key_on_record(conn, current.key_id)) is not None:
        raise WrongMasterKeyError(
            f"the current master key ({current.key_id}) is not the one that wraps the data "
            f"keys ({on_record}); nothing changed"
        )
    rows = conn.execute(
        "SELECT subject, wrapped_key FROM ecovarejo_subject_keys FOR UPDATE"
    ).fetchall()
    for subject, wrapped in rows:
        data_key = current.unwrap(bytes(wrapped), subject)
        conn.execute(
            "UPDATE ecovarejo_subject_keys SET wrapped_key = %s, master_key_id = %s "
            "WHERE subject = %s",
            (new.wrap(data_key, subject), new.key_id, subject),
        )
    conn.execute(
        "UPDATE ecovarejo_key_meta SET master_key_id = %s, rotated_at = now() WHERE id = 1",
        (new.key_id,),
    )
    return len(rows)
