"""What the account service needs from outside: the e-mail index, the token store, the
signing keys, the throttle and the mailer (adapters in infrastructure/), and the one-time
links (verify e-mail, reset password, invitation) it signs itself."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from dataclasses import dataclass
from typing import Any, Protocol

from domain.base import InvalidInputError


class InvalidLinkError(InvalidInputError):
    """A verification, reset or invitation token that is forged, expired or already used.
    Says nothing about whether an account exists."""


class EmailIndex(Protocol):
    """The keyed blind index: HMAC(server key, normalised e-mail) -> customer id."""

    def find(self, email: str) -> str | None: ...

    def claim(self, email: str, customer_id: str) -> bool:
        """False when the e-mail is taken already."""

    def release(self, customer_id: str) -> None: ...

    def blind(self, text: str) -> str:
        """A keyed digest of `text`, for throttling keys (never the text itself)."""


class TokenStore(Protocol):
    """Refresh-token families and the revocation list."""

    def issue_refresh(self, sub: str, family: str, ttl_s: int) -> str: ...

    def use_refresh(self, token: str) -> tuple[str, str, bool] | None:
        """(sub, family, first_use) of a known refresh token, else None."""

    def revoke_family(self, family: str, ttl_s: int) -> None: ...

    def family_revoked(self, family: str) -> bool: ...

    def revoke_jti(self, jti: str, ttl_s: int) -> None: ...

    def revoke_subject(self, sub: str, at: float, ttl_s: int) -> None:
        """Access tokens of `sub` issued up to `at` stop working."""


class Signer(Protocol):
    def sign(self, claims: dict[str, Any]) -> str: ...


class Throttle(Protocol):
    def wait_s(self, keys: list[str], now: float) -> float: ...

    def failed(self, keys: list[str], now: float) -> None: ...

    def succeeded(self, keys: list[str]) -> None: ...


class Mailer(Protocol):
    def send(self, customer_id: str, kind: str, subject: str, body: str, key: str) -> None: ...

    def purge_subject(self, customer_id: str) -> int:
        """Forget the mails kept for `customer_id` (erasure); how many."""


@dataclass(frozen=True)
class TokenPair:
    access_token: str
    refresh_token: str
    expires_in: int
    token_type: str = "Bearer"  # noqa: S105 (the RFC 6750 type, not a secret)


class Links:
    """One-time links: `<payload>.<HMAC>` in base64url, with a purpose, a subject, the
    password version they apply to (used once: the version moves on) and an expiry."""

    def __init__(self, key: bytes):
        self.key = key

    def make(self, purpose: str, sub: str, version: int, expires_at: float) -> str:
        payload = json.dumps(
            {"p": purpose, "s": sub, "v": version, "e": int(expires_at)}, separators=(",", ":")
        ).encode()
        mac = hmac.new(self.key, payload, hashlib.sha256).digest()
        return f"{_b64(payload)}.{_b64(mac)}"

    def read(self, token: str, purpose: str, now: float) -> tuple[str, int]:
        """(sub, version) of a genuine, unexpired link for `purpose`."""
        try:
            head, _, tail = token.partition(".")
            payload, mac = _unb64(head), _unb64(tail)
        except ValueError:
            raise InvalidLinkError("this link is not valid") from None
        expected = hmac.new(self.key, payload, hashlib.sha256).digest()
        if not hmac.compare_digest(mac, expected):
            raise InvalidLinkError("this link is not valid")
        claims = json.loads(payload)
        if claims.get("p") != purpose:
            raise InvalidLinkError("this link is not valid")
        if claims["e"] < now:
            raise InvalidLinkError("this link has expired; ask for a new one")
        return str(claims["s"]), int(claims["v"])


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    if not text or len(text) > 1000 or not text.isascii():
        raise ValueError("not base64url")
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (ValueError, TypeError) as e:
        raise ValueError("not base64url") from e
