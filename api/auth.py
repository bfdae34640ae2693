"""JWT bearer authentication: HS256 with the shared secret, or RS256 from an identity
provider's JWKS. `exp` is required, `alg: none` and unexpected algorithms are refused, clock
skew is bounded by a 30 s leeway, and `aud` / `iss` are checked when configured."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Literal

import anyio.to_thread
import jwt
from starlette.types import Scope

Role = Literal["customer", "admin", "auditor"]
ROLES: tuple[Role, ...] = ("customer", "admin", "auditor")
LEEWAY_S = 30
JWKS_LIFESPAN_S = 300
JWKS_TIMEOUT_S = 5
_SCOPE_KEY = "ecovarejo.principal"


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
    def __init__(
        self,
        secret: str | None,
        jwks_url: str | None = None,
        *,
        audience: str | None = None,
        issuer: str | None = None,
    ):
        self._secret = secret
        self._audience = audience
        self._issuer = issuer
        # The key set is cached for a while, not each key forever: a key the IdP withdraws
        # stops being accepted within JWKS_LIFESPAN_S.
        self._jwks = (
            jwt.PyJWKClient(
                jwks_url, cache_jwk_set=True, lifespan=JWKS_LIFESPAN_S, timeout=JWKS_TIMEOUT_S
            )
            if jwks_url
            else None
        )

    @property
    def uses_jwks(self) -> bool:
        return self._jwks is not None

    def _key_for(self, token: str) -> tuple[str, Any]:
        alg = jwt.get_unverified_header(token).get("alg")
        if alg == "HS256" and self._secret:
            return alg, self._secret
        if alg == "RS256" and self._jwks is not None:
            return alg, self._jwks.get_signing_key_from_jwt(token).key
        raise AuthenticationError(f"algorithm {alg!r} is not accepted")

    def verify(self, token: str) -> Principal:
        required = ["exp", "sub"] + ["aud"] * bool(self._audience) + ["iss"] * bool(self._issuer)
        try:
            alg, key = self._key_for(token)
            claims = jwt.decode(
                token,
                key,
                algorithms=[alg],
                leeway=LEEWAY_S,
                audience=self._audience,
                issuer=self._issuer,
                options={"require": required, "verify_aud": self._audience is not None},
            )
        except jwt.PyJWTError as e:
            raise AuthenticationError(f"invalid token: {e}") from None
        role = claims.get("role")
        if role not in ROLES or not isinstance(claims["sub"], str) or not claims["sub"]:
            raise AuthenticationError("token has no valid role or subject")
        return Principal(claims["sub"], role)

    async def verify_async(self, token: str) -> Principal:
        """`verify`, off the event loop when it may have to fetch the IdP's keys."""
        if self._jwks is None:
            return self.verify(token)
        return await anyio.to_thread.run_sync(self.verify, token)


def bearer_token(scope: Scope) -> str | None:
    for name, value in scope.get("headers") or []:
        if name == b"authorization":
            scheme, _, token = value.decode("latin-1").partition(" ")
            return (token.strip() or None) if scheme.lower() == "bearer" else None
    return None


async def principal_of(scope: Scope, verifier: TokenVerifier) -> Principal | AuthenticationError:
    """The caller of this request, verified once and remembered in the request's scope (the
    rate limiter, the idempotency store and the route dependencies all ask)."""
    cached = scope.get(_SCOPE_KEY)
    if cached is not None:
        return cached
    token = bearer_token(scope)
    result: Principal | AuthenticationError
    if token is None:
        result = AuthenticationError("a bearer token is required")
    else:
        try:
            result = await verifier.verify_async(token)
        except AuthenticationError as e:
            result = e
    scope[_SCOPE_KEY] = result
    return result


def known_principal(scope: Scope) -> Principal | None:
    """The caller, if this request's token was verified already (never verifies)."""
    cached = scope.get(_SCOPE_KEY)
    return cached if isinstance(cached, Principal) else None


def issue_token(secret: str, sub: str, role: Role, ttl_s: int = 3600) -> str:
    now = int(time.time())
    return jwt.encode(
        {"sub": sub, "role": role, "iat": now, "exp": now + ttl_s}, secret, algorithm="HS256"
    )
