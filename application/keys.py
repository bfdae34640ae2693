"""Per-subject data keys and the transcoding that encrypts personal data with them.

Envelope encryption: each subject's data key is stored only wrapped by a key-encryption key
(the master key) that lives outside the database, behind the `KeyWrapper` port (a local
master key from ECOVAREJO_MASTER_KEY or the data dir; a KMS in production). A database dump
holds wrapped keys and ciphertext, and neither opens without the master key.

The key store is found like the library finds its recorders: by topic, from the
application's environment (`KEY_STORE_TOPIC`), so every application instance that reads
or writes the log (command side, saga, runners) encrypts and decrypts the same way.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
from typing import Any, Protocol

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from eventsourcing.persistence import Transcoding
from eventsourcing.utils import Environment, resolve_topic

from domain.personal_data import PersonalData


class KeyStore(Protocol):
    """Data keys, one per subject. Destroying a key is the erasure."""

    def key_for(self, subject: str) -> bytes:
        """The subject's key, created on first use."""

    def existing_key(self, subject: str) -> bytes | None:
        """The subject's key, or None if it was never made or was destroyed."""

    def destroy(self, subject: str) -> bool:
        """Destroy the key; False if there was none."""


class WrongMasterKeyError(Exception):
    """The master key in use does not open the stored data keys."""


class KeyWrapperUnavailableError(Exception):
    """The key-encryption key cannot be used now: the KMS cannot be reached, refuses the
    credentials, or answers something that is not its documented API. Nothing was changed."""


def key_service_failure(error: BaseException) -> KeyWrapperUnavailableError | None:
    """The `KeyWrapperUnavailableError` behind `error`, if any (the event-sourcing library
    wraps what a transcoding raises in its own mapper errors)."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        if isinstance(current, KeyWrapperUnavailableError):
            return current
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return None


class KeyWrapper(Protocol):
    """The key-encryption key, kept outside the database (the KMS port). `key_id` names the
    key without revealing it, so the store can tell which key wrapped each data key. The
    subject is bound to the wrapped key (associated data, or a KMS's derivation context):
    a wrapped key moved to another subject's row does not open."""

    @property
    def key_id(self) -> str: ...

    def wrap(self, data_key: bytes, subject: str) -> bytes:
        """`KeyWrapperUnavailableError` if the KMS cannot be used."""

    def unwrap(self, wrapped: bytes, subject: str) -> bytes:
        """The data key; `WrongMasterKeyError` if this key did not wrap it (or not for this
        subject); `KeyWrapperUnavailableError` if the KMS cannot be used."""

    def as_env(self) -> dict[str, str]:
        """How application instances built from an environment find this wrapper."""


def key_store_from(env: Environment) -> KeyStore:
    topic = env.get("KEY_STORE_TOPIC")
    if not topic:
        raise RuntimeError("KEY_STORE_TOPIC is not configured: personal data cannot be stored")
    store: KeyStore = resolve_topic(topic).from_env(env)
    return store


class PersonalDataAsCiphertext(Transcoding):
    """AES-GCM with the subject's key; the subject is authenticated as associated data."""

    type = PersonalData
    name = "personal_data"

    def __init__(self, keys: KeyStore):
        self.keys = keys

    def encode(self, obj: PersonalData) -> dict[str, str]:
        assert obj.value is not None, "erased personal data is never written again"
        nonce = os.urandom(12)
        plaintext = json.dumps(obj.value, sort_keys=True).encode()
        sealed = AESGCM(self.keys.key_for(obj.subject)).encrypt(
            nonce, plaintext, obj.subject.encode()
        )
        return {
            "subject": obj.subject,
            "nonce": base64.b64encode(nonce).decode(),
            "ciphertext": base64.b64encode(sealed).decode(),
        }

    def decode(self, data: dict[str, Any]) -> PersonalData:
        key = self.keys.existing_key(data["subject"])
        if key is None:
            return PersonalData(data["subject"], None)
        try:
            plaintext = AESGCM(key).decrypt(
                base64.b64decode(data["nonce"]),
                base64.b64decode(data["ciphertext"]),
                data["subject"].encode(),
            )
        except InvalidTag:
            return PersonalData(data["subject"], None)
        return PersonalData(data["subject"], json.loads(plaintext))


class ReadModelSealer:
    """`WordsSealer` for read models: AES-GCM under the subject's key, with a synthetic
    nonce (HMAC of the words under the same key), so that rebuilding a read model writes
    the same bytes again (rebuilds and restores compare equal). It reveals only whether two
    sealed words of the same subject are equal. An erased subject's words seal to nothing."""

    AAD = b"read-model:"

    def __init__(self, keys: KeyStore):
        self.keys = keys

    def seal(self, data: PersonalData) -> dict[str, str]:
        assert data.value is not None, "erased words are never sealed"
        key = self.keys.existing_key(data.subject)
        if key is None:  # erased between the event's reading and now
            return {"subject": data.subject, "nonce": "", "ciphertext": ""}
        plaintext = json.dumps(data.value, sort_keys=True).encode()
        nonce = hmac.new(key, b"nonce:" + plaintext, hashlib.sha256).digest()[:12]
        sealed = AESGCM(key).encrypt(nonce, plaintext, self.AAD + data.subject.encode())
        return {
            "subject": data.subject,
            "nonce": base64.b64encode(nonce).decode(),
            "ciphertext": base64.b64encode(sealed).decode(),
        }

    def open(self, sealed: dict[str, str]) -> PersonalData:
        subject = str(sealed.get("subject", ""))
        key = self.keys.existing_key(subject)
        if key is None or not sealed.get("ciphertext"):
            return PersonalData(subject, None)
        try:
            plaintext = AESGCM(key).decrypt(
                base64.b64decode(sealed["nonce"]),
                base64.b64decode(sealed["ciphertext"]),
                self.AAD + subject.encode(),
            )
        except (InvalidTag, ValueError, KeyError):
            return PersonalData(subject, None)
        return PersonalData(subject, json.loads(plaintext))


class SecretAsCiphertext(PersonalDataAsCiphertext):
    """Account secrets (domain.account.Secret): the same encryption, read back as `Secret`
    so that views keep hiding them."""

    name = "account_secret"

    def __init__(self, keys: KeyStore):
        from domain.account import Secret

        super().__init__(keys)
        self.type = Secret

    def decode(self, data: dict[str, Any]) -> PersonalData:
        from domain.account import Secret

        read = super().decode(data)
        return Secret(read.subject, read.value)
