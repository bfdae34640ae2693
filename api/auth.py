"""JWT bearer authentication: HS256 with the shared secret, or RS256 from an identity
provider's JWKS. `exp` is required, `alg: none` and unexpected algorithms are refused."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Literal

import jwt

Role = Literal["customer", "admin", "auditor"]
ROLES: tuple[Role, ...] = ("customer", "admin", "auditor")
LEEWAY_S = 30


class AuthenticationError(Exception):
    """No token, or a token that is not valid."""


@dataclass(frozen=True)
class Principal:
    sub: str
    role: Role

    @property
    def actor(self) -> str:
        return f"{self.role}:{self.sub}"


class TokenVerifier:
    def __init__(self, secret: str | None, jwks_url: str | None = None):
        self._secret = secret
        self._jwks = jwt.PyJWKClient(jwks_url, cache_keys=True) if jwks_url else None

    def verify(self, token: str) -> Principal:
        try:
            header = jwt.get_unverified_header(token)
            alg = header.get("alg")
            if alg == "HS256" and self._secret:
                key: Any = self._secret
            elif alg == "RS256" and self._jwks is not None:
                key = self._jwks.get_signing_key_from_jwt(token).key
            else:
                raise AuthenticationError(f"algorithm {alg!r} is not accepted")
            claims = jwt.decode(
                token,
                key,
                algorithms=[alg],
                leeway=LEEWAY_S,
                options={"require": ["exp", "sub"]},
            )
        except jwt.PyJWTError as e:
            raise AuthenticationError(f"invalid token: {e}") from None
        role = claims.get("role")
        if role not in ROLES or not isinstance(claims["sub"], str) or not claims["sub"]:
            raise AuthenticationError("token has no valid role or subject")
        return Principal(claims["sub"], role)


def issue_token(secret: str, sub: str, role: Role, ttl_s: int = 3600) -> str:
    now = int(time.time())
    return jwt.encode(
        {"sub": sub, "role": role, "iat": now, "exp": now + ttl_s}, secret, algorithm="HS256"
    )
