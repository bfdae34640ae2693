"""The key-encryption key in HashiCorp Vault's Transit secrets engine (the KMS adapter).

The data keys are wrapped by Vault (`POST /v1/<mount>/encrypt/<key>`) and unwrapped by it
(`/decrypt`); the Transit key never leaves Vault, so neither a database dump nor this
process's data dir holds anything that opens them. The key must be created with
`derived=true`: each subject's data key is wrapped under a key derived from the context
`ecovarejo data key:<subject>`, so a wrapped key copied into another subject's row does not
open. What Vault answers (`vault:v<N>:…`) is stored as is: the version tells which Transit
key version wrapped it.

Rotation (`ecovarejo keys rotate`): `POST /keys/<key>/rotate` makes a new key version,
then every wrapped data key is re-wrapped with `POST /rewrap/<key>` (Vault re-encrypts
under the latest version without ever returning the data key); with `--retire-old-versions`
the key's `min_decryption_version` is then raised to the new version, so wrapped keys from
before the rotation (in old dumps and backups) no longer open.

Vault's HTTP API: developer.hashicorp.com/vault/api-docs/secret/transit (the stored copy
followed: hashicorp/vault website/content/api-docs/secret/transit.mdx) and
developer.hashicorp.com/vault/api-docs (authentication by `X-Vault-Token`, errors as
`{"errors": [...]}` with 400 for bad input, 403 for a refused token, 503 when sealed).
"""

from __future__ import annotations

import base64
import hashlib
import threading
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import httpx

from application.keys import KeyWrapperUnavailableError, WrongMasterKeyError

TIMEOUT_S = 5.0
_instances: dict[tuple[str, str, str, str], VaultTransitKey] = {}
_instances_lock = threading.Lock()


@dataclass(frozen=True)
class TransitKeyInfo:
    latest_version: int
    min_decryption_version: int
    derived: bool


class VaultTransitKey:
    """A Transit key, named by mount and key name; the token is held, never shown."""

    kind = "vault"

    def __init__(
        self,
        address: str,
        token: str,
        key_name: str,
        mount: str = "transit",
        timeout_s: float = TIMEOUT_S,
    ):
        self.address = address.rstrip("/")
        self.key_name = key_name
        self.mount = mount.strip("/")
        self._token = token
        self._client = httpx.Client(
            base_url=f"{self.address}/v1/{quote(self.mount)}/",
            headers={"X-Vault-Token": token},
            timeout=timeout_s,
        )
        self._pseudonym_secret: str | None = None
        self._lock = threading.Lock()

    @classmethod
    def from_settings(cls, settings: Any) -> VaultTransitKey:
        """From the validated settings, checked usable: reachable, the token accepted, the
        key there and derived (`KeyWrapperUnavailableError` naming the fix otherwise)."""
        assert settings.vault_addr  # the settings validate both
        assert settings.vault_token
        wrapper = cls(
            settings.vault_addr,
            settings.vault_token.get_secret_value(),
            settings.vault_transit_key,
            settings.vault_transit_mount,
        )
        wrapper.info()
        return wrapper

    @classmethod
    def from_env(cls, env: Any) -> VaultTransitKey:
        """One client per Vault key and token in a process, shared by its applications."""
        address, token = env.get("VAULT_ADDR"), env.get("VAULT_TOKEN")
        if not address or not token:
            raise RuntimeError("ECOVAREJO_KEY_WRAPPER=vault without ECOVAREJO_VAULT_ADDR, _TOKEN")
        key = env.get("VAULT_TRANSIT_KEY") or "ecovarejo"
        mount = env.get("VAULT_TRANSIT_MOUNT") or "transit"
        with _instances_lock:
            found = _instances.get((address, token, key, mount))
            if found is None:
                found = _instances[(address, token, key, mount)] = cls(address, token, key, mount)
        return found

    def __repr__(self) -> str:  # never the token
        return f"VaultTransitKey({self.address!r}, key={self.mount}/{self.key_name})"

    @property
    def key_id(self) -> str:
        """Stable across Transit key versions: Vault decrypts every version it still allows,
        and the version of each wrapped key is in its `vault:v<N>:` prefix."""
        return f"vault-transit:{self.mount}/{self.key_name}"

    def close(self) -> None:
        self._client.close()

    # The HTTP exchange -------------------------------------------------------------------
    def _call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        where = f"Vault at {self.address}"
        try:
            response = self._client.request(method, path, json=body)
        except httpx.HTTPError as e:
            raise KeyWrapperUnavailableError(
                f"{where} cannot be reached ({type(e).__name__}): check ECOVAREJO_VAULT_ADDR"
            ) from None
        if response.status_code == 204:
            return {}
        try:
            document = response.json()
        except ValueError:
            document = None
        if not isinstance(document, dict):
            raise KeyWrapperUnavailableError(
                f"{where} answered HTTP {response.status_code} without Vault's JSON"
            )
        if response.status_code >= 400:
            errors = document.get("errors") or []
            detail = "; ".join(str(e) for e in errors)[:200] or "no detail"
            if response.status_code == 400:
                raise _BadRequest(detail)
            if response.status_code in (401, 403):
                raise KeyWrapperUnavailableError(
                    f"{where} refused the token for {self.mount}/{self.key_name} "
                    f"(HTTP {response.status_code}: {detail}): check ECOVAREJO_VAULT_TOKEN "
                    "and its policy"
                )
            if response.status_code == 404:
                raise KeyWrapperUnavailableError(
                    f"{where} has no Transit key {self.mount}/{self.key_name}: create it with "
                    f"`vault write -f {self.mount}/keys/{self.key_name} derived=true`"
                )
            raise KeyWrapperUnavailableError(
                f"{where} answered HTTP {response.status_code} ({detail})"
            )
        data = document.get("data")
        if not isinstance(data, dict):
            raise KeyWrapperUnavailableError(f"{where} answered without a `data` object")
        return data

    def _field(self, data: dict[str, Any], name: str) -> str:
        value = data.get(name)
        if not isinstance(value, str) or not value:
            raise KeyWrapperUnavailableError(f"Vault at {self.address} answered without {name}")
        return value

    @staticmethod
    def _context(subject: str) -> str:
        return base64.b64encode(b"ecovarejo data key:" + subject.encode()).decode()

    # The port ----------------------------------------------------------------------------
    def wrap(self, data_key: bytes, subject: str) -> bytes:
        body = {"plaintext": base64.b64encode(data_key).decode(), "context": self._context(subject)}
        try:
            data = self._call("POST", f"encrypt/{quote(self.key_name)}", body)
        except _BadRequest as e:
            raise KeyWrapperUnavailableError(
                f"Vault refused to wrap with {self.mount}/{self.key_name}: {e} "
                "(the key must be created with derived=true)"
            ) from None
        return self._field(data, "ciphertext").encode()

    def unwrap(self, wrapped: bytes, subject: str) -> bytes:
        data = self._on_wrapped("decrypt", wrapped, subject, "does not open")
        try:
            return base64.b64decode(self._field(data, "plaintext"), validate=True)
        except ValueError:
            raise KeyWrapperUnavailableError("Vault answered a plaintext not in base64") from None

    def as_env(self) -> dict[str, str]:
        return {
            "ECOVAREJO_KEY_WRAPPER": self.kind,
            "ECOVAREJO_VAULT_ADDR": self.address,
            "ECOVAREJO_VAULT_TOKEN": self._token,
            "ECOVAREJO_VAULT_TRANSIT_KEY": self.key_name,
            "ECOVAREJO_VAULT_TRANSIT_MOUNT": self.mount,
            "ECOVAREJO_PSEUDONYM_SECRET": self.pseudonym_secret(),
        }

    # Operations beyond the port ----------------------------------------------------------
    def info(self) -> TransitKeyInfo:
        """The key as Vault describes it; refuses a key that is not derived (`GET /keys`)."""
        data = self._call("GET", f"keys/{quote(self.key_name)}")
        try:
            info = TransitKeyInfo(
                int(data["latest_version"]),
                int(data.get("min_decryption_version") or 1),
                bool(data.get("derived")),
            )
        except (KeyError, TypeError, ValueError):
            raise KeyWrapperUnavailableError(
                f"Vault at {self.address} described {self.mount}/{self.key_name} without "
                "latest_version"
            ) from None
        if not info.derived:
            raise KeyWrapperUnavailableError(
                f"Vault key {self.mount}/{self.key_name} is not derived: each customer's data "
                "key is wrapped under its own derived key; create a key with derived=true"
            )
        return info

    def rotate_key(self) -> int:
        """A new key version (`POST /keys/<key>/rotate`); the new latest version."""
        self._call("POST", f"keys/{quote(self.key_name)}/rotate")
        return self.info().latest_version

    def rewrap(self, wrapped: bytes, subject: str) -> bytes:
        """The same data key wrapped under the latest version; Vault never returns it."""
        data = self._on_wrapped("rewrap", wrapped, subject, "cannot re-wrap")
        return self._field(data, "ciphertext").encode()

    def _on_wrapped(self, endpoint: str, wrapped: bytes, subject: str, refusal: str) -> Any:
        """Send a wrapped data key to `decrypt` or `rewrap`. Vault's 400 (another key or
        subject, a version below min_decryption_version, not Vault's ciphertext) is a
        wrong key, not an outage."""
        body = {"ciphertext": _text(wrapped), "context": self._context(subject)}
        try:
            return self._call("POST", f"{endpoint}/{quote(self.key_name)}", body)
        except _BadRequest as e:
            raise WrongMasterKeyError(
                f"Vault key {self.mount}/{self.key_name} {refusal} this data key ({e})"
            ) from None

    def retire_versions_below(self, version: int) -> None:
        """Wrapped keys of older versions no longer open (`min_decryption_version`)."""
        body = {"min_decryption_version": version}
        try:
            self._call("POST", f"keys/{quote(self.key_name)}/config", body)
        except _BadRequest as e:
            raise KeyWrapperUnavailableError(f"Vault refused min_decryption_version: {e}") from None

    def pseudonym_secret(self) -> str:
        """A secret for the auditors' pseudonyms that only this Transit key gives: Vault's
        HMAC of a fixed text (`POST /hmac/<key>`), hashed. Changes when the key is rotated."""
        with self._lock:
            if self._pseudonym_secret is None:
                body = {"input": base64.b64encode(b"ecovarejo pseudonym secret").decode()}
                data = self._call("POST", f"hmac/{quote(self.key_name)}", body)
                digest = hashlib.sha256(self._field(data, "hmac").encode()).hexdigest()
                self._pseudonym_secret = digest
            return self._pseudonym_secret


class _BadRequest(Exception):
    """Vault's 400: the request was understood and refused (the caller says what it means)."""


def _text(wrapped: bytes) -> str:
    try:
        return wrapped.decode("ascii")
    except UnicodeDecodeError:
        return ""  # not Vault's (a local master key's wrapping): Vault refuses it with a 400
