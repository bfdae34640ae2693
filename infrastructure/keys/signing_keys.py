"""Our own token-signing keys: Ed25519 (JWS `EdDSA`, RFC 8037).

A key's 32-byte private seed is a data key of the key store (subject `signing-key:<kid>`),
so it is kept only wrapped by the master key or the KMS, like customers' keys, and goes
with `keys rotate` and backups. The table lists each key's public half and how long it is
honoured: `rotate` makes a new key current and keeps the old one for verification until
the last access token it signed has expired (`verify_until`), then its seed is destroyed.
`/.well-known/jwks.json` publishes the keys still honoured.
"""

from __future__ import annotations

import base64
import threading
import time
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import uuid4

import jwt
import psycopg
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from application.keys import KeyStore

_CREATE = """
CREATE TABLE IF NOT EXISTS ecovarejo_signing_keys (
    kid text PRIMARY KEY,
    public_key bytea NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    retired_at timestamptz,
    verify_until timestamptz
)
"""
RELOAD_S = 60.0  # other processes see a rotation within this long (sooner on an unknown kid)
UNKNOWN_KID_RELOAD_S = 5.0


def _subject(kid: str) -> str:
    return f"signing-key:{kid}"


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def create_signing_keys_table(database_url: str) -> None:
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("SELECT pg_advisory_lock(7226)")
        try:
            conn.execute(_CREATE)
        finally:
            conn.execute("SELECT pg_advisory_unlock(7226)")


class SigningKeys:
    def __init__(self, database_url: str, keys: KeyStore):
        self.database_url = database_url
        self.keys = keys
        self._lock = threading.Lock()
        self._public: dict[str, Ed25519PublicKey] = {}
        self._loaded_at = 0.0
        self._current: tuple[str, Ed25519PrivateKey] | None = None
        with psycopg.connect(database_url, autocommit=True) as conn:
            conn.execute("SELECT pg_advisory_lock(7226)")
            try:
                conn.execute(_CREATE)
                if conn.execute("SELECT 1 FROM ecovarejo_signing_keys").fetchone() is None:
                    self._add(conn)
            finally:
                conn.execute("SELECT pg_advisory_unlock(7226)")

    def _add(self, conn: psycopg.Connection[Any]) -> str:
        kid = uuid4().hex[:16]
        private = Ed25519PrivateKey.from_private_bytes(self.keys.key_for(_subject(kid)))
        public = private.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
        conn.execute(
            "INSERT INTO ecovarejo_signing_keys (kid, public_key) VALUES (%s, %s)", (kid, public)
        )
        return kid

    # Signing ------------------------------------------------------------------------------
    def current(self) -> tuple[str, Ed25519PrivateKey]:
        with self._lock:
            if self._current is None or time.monotonic() - self._loaded_at > RELOAD_S:
                self._reload()
            assert self._current is not None
            return self._current

    def sign(self, claims: dict[str, Any]) -> str:
        kid, private = self.current()
        return jwt.encode(claims, private, algorithm="EdDSA", headers={"kid": kid})

    # Verifying ----------------------------------------------------------------------------
    def public_key(self, kid: str) -> Ed25519PublicKey | None:
        """The key honoured under `kid` (cached; reloaded at most every few seconds when
        a token names a kid this process does not know, e.g. after a rotation elsewhere)."""
        found = self._public.get(kid)
        age = time.monotonic() - self._loaded_at
        if (found is None and age > UNKNOWN_KID_RELOAD_S) or age > RELOAD_S:
            with self._lock:
                self._reload()
            found = self._public.get(kid)
        return found

    def _reload(self) -> None:
        with psycopg.connect(self.database_url, autocommit=True) as conn:
            rows = conn.execute(
                "SELECT kid, public_key, retired_at FROM ecovarejo_signing_keys "
                "WHERE verify_until IS NULL OR verify_until > now() ORDER BY created_at"
            ).fetchall()
        self._public = {
            str(kid): Ed25519PublicKey.from_public_bytes(bytes(raw)) for kid, raw, _ in rows
        }
        current = [str(kid) for kid, _, retired in rows if retired is None]
        if current:
            kid = current[-1]
            seed = self.keys.key_for(_subject(kid))
            self._current = (kid, Ed25519PrivateKey.from_private_bytes(seed))
        self._loaded_at = time.monotonic()

    def refresh(self) -> None:
        """Read the table again now (after a rotation made by another process)."""
        with self._lock:
            self._reload()

    def jwks(self) -> dict[str, Any]:
        self.public_key("")  # reload if stale
        return {
            "keys": [
                {
                    "kty": "OKP",
                    "crv": "Ed25519",
                    "x": _b64(key.public_bytes(Encoding.Raw, PublicFormat.Raw)),
                    "kid": kid,
                    "use": "sig",
                    "alg": "EdDSA",
                }
                for kid, key in sorted(self._public.items())
            ]
        }

    # Rotation -----------------------------------------------------------------------------
    def rotate(self, access_ttl_s: int) -> dict[str, Any]:
        """A new current key; the others are honoured until their last token expires.
        Keys past that are removed and their seeds destroyed."""
        keep = timedelta(seconds=access_ttl_s + 60)
        with psycopg.connect(self.database_url) as conn:
            conn.execute("SELECT pg_advisory_xact_lock(7226)")
            conn.execute(
                "UPDATE ecovarejo_signing_keys SET retired_at = now(), verify_until = now() + %s "
                "WHERE retired_at IS NULL",
                (keep,),
            )
            kid = self._add(conn)
            expired = conn.execute(
                "DELETE FROM ecovarejo_signing_keys WHERE verify_until <= now() RETURNING kid"
            ).fetchall()
        for (old,) in expired:
            self.keys.destroy(_subject(str(old)))
        with self._lock:
            self._reload()
        return {
            "current": kid,
            "honoured_until": (datetime.now(tz=UTC) + keep).isoformat(),
            "removed": [str(k) for (k,) in expired],
        }
