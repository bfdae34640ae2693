"""A local HashiCorp Vault with the Transit secrets engine mounted, after Vault's HTTP API
docs: developer.hashicorp.com/vault/api-docs/secret/transit (followed as stored in
hashicorp/vault website/content/api-docs/secret/transit.mdx) and
developer.hashicorp.com/vault/api-docs (website/content/api-docs/index.mdx):

- Every route is under `/v1/`; the client token travels as `X-Vault-Token` (or
  `Authorization: Bearer`); a missing or wrong one is `403 {"errors": ["permission denied"]}`.
  Errors are `{"errors": [...]}`: 400 for a request understood and refused, 404 for an
  unknown path or key; answers with data are `{"data": {...}}`.
- `POST /transit/keys/:name` creates a key (`type` aes256-gcm96, `derived`);
  `GET /transit/keys/:name` reads it (`keys` {version: created}, `latest_version`,
  `min_decryption_version`, `derived`, `supports_*`).
- `POST /transit/encrypt/:name` (`plaintext` base64, `context` base64, required when
  derived) -> `ciphertext` `vault:v<N>:<base64>`; `POST /transit/decrypt/:name`
  (`ciphertext`, `context`) -> `plaintext` base64; `POST /transit/rewrap/:name` -> the same
  plaintext under the latest version, never returned.
- `POST /transit/keys/:name/rotate` adds a version; `POST /transit/keys/:name/config`
  (`min_decryption_version`): ciphertext of older versions is refused.
- `POST /transit/hmac/:name` (`input` base64) -> `hmac` `vault:v<N>:<base64>`.

Real cryptography: each version is a random 256-bit key; with `derived`, the key for a
context is derived from it (HKDF-SHA256, as Vault does); ciphertext is AES-GCM with a
96-bit random nonce, so a wrong context or key fails authentication (Vault's 400 "cipher:
message authentication failed"). Transit's upsert on encrypt (with `create` capability) is
not played: an unknown key is a 400, as for a token with only `update`.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import time
from typing import Any, NamedTuple

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from tests.fakes.base import FakeProvider, Request

Answer = tuple[int, dict[str, Any]]


class _Opened(NamedTuple):
    key: TransitKey
    context: bytes
    plaintext: bytes
NAME = r"(?P<name>[A-Za-z0-9_.-]+)"


class TransitKey:
    def __init__(self, derived: bool):
        self.derived = derived
        self.versions: dict[int, tuple[bytes, int]] = {}
        self.min_decryption_version = 1
        self.rotate()

    @property
    def latest(self) -> int:
        return max(self.versions)

    def rotate(self) -> None:
        self.versions[len(self.versions) + 1] = (os.urandom(32), int(time.time()))

    def key(self, version: int, context: bytes) -> bytes:
        raw = self.versions[version][0]
        if not self.derived:
            return raw
        return HKDF(hashes.SHA256(), 32, salt=None, info=context).derive(raw)


class FakeVault(FakeProvider):
    key_header = "x-fake-vault-no-idempotency"  # Vault has no idempotency keys

    def __init__(self, token: str = "hvs.fake-root-token", mount: str = "transit"):
        super().__init__()
        self.token = token
        self.keys: dict[str, TransitKey] = {}
        m = f"/v1/{mount}"
        self.route("POST", f"{m}/keys/{NAME}", self.create_key)
        self.route("GET", f"{m}/keys/{NAME}", self.read_key)
        self.route("POST", f"{m}/keys/{NAME}/rotate", self.rotate)
        self.route("POST", f"{m}/keys/{NAME}/config", self.config)
        self.route("POST", f"{m}/encrypt/{NAME}", self.encrypt)
        self.route("POST", f"{m}/decrypt/{NAME}", self.decrypt)
        self.route("POST", f"{m}/rewrap/{NAME}", self.rewrap)
        self.route("POST", f"{m}/hmac/{NAME}", self.hmac)

    def _dispatch(self, request: Request) -> tuple[int, bytes]:
        given = request.headers.get("x-vault-token") or request.headers.get(
            "authorization", ""
        ).removeprefix("Bearer ")
        if not hmac.compare_digest(given.encode(), self.token.encode()):
            return 403, b'{"errors": ["permission denied"]}'
        status, body = super()._dispatch(request)
        if status == 204:
            return 204, b""
        if status == 404 and b"errors" not in body:
            return 404, b'{"errors": ["unsupported path"]}'
        return status, body

    # Keys -------------------------------------------------------------------------------
    def create_key(self, r: Request) -> Answer:
        name = _name(r)
        if r.params.get("type", "aes256-gcm96") != "aes256-gcm96":
            return _error(400, "this fake plays aes256-gcm96 keys only")
        self.keys.setdefault(name, TransitKey(bool(r.params.get("derived"))))
        return 204, {}

    def _key(self, r: Request) -> TransitKey | None:
        return self.keys.get(_name(r))

    def read_key(self, r: Request) -> Answer:
        key = self._key(r)
        if key is None:
            return _error(404, "")
        return 200, {
            "data": {
                "name": _name(r),
                "type": "aes256-gcm96",
                "derived": key.derived,
                "keys": {str(v): created for v, (_, created) in key.versions.items()},
                "latest_version": key.latest,
                "min_decryption_version": key.min_decryption_version,
                "min_encryption_version": 0,
                "supports_encryption": True,
                "supports_decryption": True,
                "supports_derivation": True,
            }
        }

    def rotate(self, r: Request) -> Answer:
        key = self._key(r)
        if key is None:
            return _error(400, "encryption key not found")
        key.rotate()
        return 204, {}

    def config(self, r: Request) -> Answer:
        key = self._key(r)
        if key is None:
            return _error(400, "no existing key named " + _name(r) + " could be found")
        wanted = r.params.get("min_decryption_version")
        if wanted is not None:
            if not isinstance(wanted, int) or wanted > key.latest:
                return _error(400, "cannot set min decryption version above latest version")
            key.min_decryption_version = max(wanted, 1)
        return 204, {}

    # Data -------------------------------------------------------------------------------
    def _context(self, key: TransitKey, r: Request) -> bytes | Answer:
        raw = r.params.get("context") or ""
        try:
            context = base64.b64decode(raw, validate=True)
        except (binascii.Error, ValueError):
            return _error(400, "failed to base64-decode context")
        if key.derived and not context:
            return _error(
                400,
                "missing 'context' for key derivation; the key was created "
                "using a derived key, which means additional, per-request "
                "information must be included in order to perform operations "
                "with the key",
            )
        return context

    def _seal(self, key: TransitKey, context: bytes, plaintext: bytes) -> str:
        nonce = os.urandom(12)
        sealed = AESGCM(key.key(key.latest, context)).encrypt(nonce, plaintext, None)
        return f"vault:v{key.latest}:" + base64.b64encode(nonce + sealed).decode()

    def _open(self, key: TransitKey, context: bytes, ciphertext: Any) -> bytes | Answer:
        if not isinstance(ciphertext, str) or not ciphertext.startswith("vault:v"):
            return _error(400, "invalid ciphertext: no prefix")
        version_text, _, body = ciphertext[len("vault:v") :].partition(":")
        if not version_text.isdigit():
            return _error(400, "invalid ciphertext: could not parse version")
        version = int(version_text)
        if version < key.min_decryption_version:
            return _error(400, "ciphertext or signature version is disallowed by policy (too old)")
        if version not in key.versions:
            return _error(400, "invalid ciphertext: version is too new")
        try:
            blob = base64.b64decode(body, validate=True)
            return AESGCM(key.key(version, context)).decrypt(blob[:12], blob[12:], None)
        except (binascii.Error, ValueError, InvalidTag):
            return _error(400, "cipher: message authentication failed")

    def encrypt(self, r: Request) -> Answer:
        key = self._key(r)
        if key is None:
            return _error(400, "encryption key not found")
        context = self._context(key, r)
        if isinstance(context, tuple):
            return context
        try:
            plaintext = base64.b64decode(r.params.get("plaintext") or "", validate=True)
        except (binascii.Error, ValueError):
            return _error(400, "failed to base64-decode plaintext")
        return 200, {
            "data": {"ciphertext": self._seal(key, context, plaintext), "key_version": key.latest}
        }

    def decrypt(self, r: Request) -> Answer:
        opened = self._opened(r)
        if not isinstance(opened, _Opened):
            return opened
        return 200, {"data": {"plaintext": base64.b64encode(opened.plaintext).decode()}}

    def rewrap(self, r: Request) -> Answer:
        opened = self._opened(r)
        if not isinstance(opened, _Opened):
            return opened
        key, context, plaintext = opened
        return 200, {
            "data": {"ciphertext": self._seal(key, context, plaintext), "key_version": key.latest}
        }

    def _opened(self, r: Request) -> _Opened | Answer:
        """The request's ciphertext opened, or the error answer: what decrypt and rewrap
        both do first."""
        key = self._key(r)
        if key is None:
            return _error(400, "encryption key not found")
        context = self._context(key, r)
        if isinstance(context, tuple):
            return context
        opened = self._open(key, context, r.params.get("ciphertext"))
        if isinstance(opened, tuple):
            return opened
        return _Opened(key, context, opened)

    def hmac(self, r: Request) -> Answer:
        key = self._key(r)
        if key is None:
            return _error(400, "encryption key not found")
        try:
            data = base64.b64decode(r.params.get("input") or "", validate=True)
        except (binascii.Error, ValueError):
            return _error(400, "unable to decode input as base64")
        raw = key.versions[key.latest][0]
        digest = hmac.new(raw, data, hashlib.sha256).digest()
        return 200, {"data": {"hmac": f"vault:v{key.latest}:" + base64.b64encode(digest).decode()}}


def _name(r: Request) -> str:
    assert r.match is not None
    return r.match["name"]


def _error(status: int, message: str) -> Answer:
    return status, {"errors": [message] if message else []}


def started_vault(key_name: str = "ecovarejo", derived: bool = True) -> FakeVault:
    """A fake Vault, serving, with one Transit key."""
    vault = FakeVault().start()
    vault.keys[key_name] = TransitKey(derived)
    return vault
