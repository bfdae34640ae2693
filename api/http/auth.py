"""JWT bearer authentication: HS256 with the shared secret, or RS256 from an identity
provider's JWKS. `exp` is required and must be a number no further away than the maximum
lifetime (ECOVAREJO_JWT_MAX_TTL_S), `alg: none` and unexpected algorithms are refused, clock
skew is bounded by a 30 s leeway, and `aud` / `iss` are checked when configured. The subject
and role follow the edge's text rule (`api.http.text`): a claim that breaks it is a 401.

A token verified once is remembered (`VERIFIED_TOKENS`, by digest) with the key that verified
it: while the key its header names is still that key and the token has not expired, the same
bytes verify to the same caller, so the signature and claims are not checked again (every
other check is one that, passed once, stays passed as time goes on)."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

import anyio.to_thread
import jwt
from starlette.types import Scope

from api.http.text import text_problem

Role = Literal["customer", "admin", "auditor"]
ROLES: tuple[Role, ...] = ("customer", "admin", "auditor")
LEEWAY_S = 30
JWKS_LIFESPAN_S = 300
JWKS_TIMEOUT_S = 5
DEFAULT_MAX_TTL_S = 24 * 3600
MAX_SUBJECT_LENGTH = 200  # as long as a customer id in a path may be
MAX_NUMERIC_DATE = 253_402_300_799  # 9999-12-31T23:59:59Z: any sane NumericDate is within
PII_SCOPE = "auditor:pii"
_SCOPE_KEY = "ecovarejo.principal"
VERIFIED_TOKENS = 4096  # tokens whose verification is remembered (bounded: full, it clears)


class AuthenticationError(Exception):
    """No token, or a token that is not valid."""


@dataclass(frozen=True)
class Principal:
    sub: str
    role: Role
    scopes: frozenset[str] = frozenset()
    # Of our own (EdDSA) tokens, for the revocation list (logout, family, subject).
    jti: str = ""
    family: str = ""
    issued_at: float = 0.0
    expires_at: float = 0.0

    @property
    def actor(self) -> str:
        return f"{self.role}:{self.sub}"


@dataclass(frozen=True)
class _Verified:
    principal: Principal
    until: float  # exp + leeway: from then on the token is refused as expired
    alg: str
    kid: str | None
    key: Any  # the key that verified it: a withdrawn or replaced key ends the memory


class TokenVerifier:
    def __init__(
        self,
        secret: str | None,
        jwks_url: str | None = None,
        *,
        audience: str | None = None,
        issuer: str | None = None,
        max_ttl_s: int = DEFAULT_MAX_TTL_S,
        own_keys: Callable[[str], Any] | None = None,
    ):
        self._secret = secret
        # Our own Ed25519 public keys by kid (infrastructure/keys/signing_keys.py), if any.
        self._own_keys = own_keys
        self._max_ttl_s = max_ttl_s
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
        self._verified: dict[bytes, _Verified] = {}

    @property
    def uses_jwks(self) -> bool:
        return self._jwks is not None

    def _key(self, alg: object, kid: object) -> Any:
        """The key that verifies a token of `alg` naming `kid` (the IdP's and ours may be
        fetched: call off the event loop, see `verify_async`)."""
        if alg == "HS256" and self._secret:
            return self._secret
        if alg == "RS256" and self._jwks is not None:
            return self._jwks.get_signing_key(kid).key  # type: ignore[arg-type]  # as _from_jwt
        if alg == "EdDSA" and self._own_keys is not None:
            key = self._own_keys(kid) if isinstance(kid, str) and len(kid) <= 64 else None
            if key is None:
                raise AuthenticationError("the token's signing key is unknown or retired")
            return key
        raise AuthenticationError(f"algorithm {alg!r} is not accepted")

    def verify(
        self, token: str, header: dict[str, Any] | None = None, digest: bytes | None = None
    ) -> Principal:
        """The token's caller; `header`: the token's unverified header, and `digest` its
        digest (`_digest`), if already computed."""
        digest = digest if digest is not None else _digest(token)
        known = self._verified.get(digest)
        if known is not None and self._still_valid(known):
            return known.principal
        try:
            header = header if header is not None else jwt.get_unverified_header(token)
            alg, kid = header.get("alg"), header.get("kid")
            key = self._key(alg, kid)
        except jwt.PyJWTError as e:
            raise _refusal(e) from None
        principal, exp = self._verify(token, str(alg), key)
        if len(self._verified) >= VERIFIED_TOKENS:
            self._verified.clear()
        until = float(exp) + LEEWAY_S
        self._verified[digest] = _Verified(principal, until, str(alg), kid, key)
        return principal

    def _still_valid(self, known: _Verified) -> bool:
        if time.time() >= known.until:
            return False
        try:
            return bool(self._key(known.alg, known.kid) is known.key)
        except (AuthenticationError, jwt.PyJWTError):
            return False  # verified again, which refuses it with the reason

    def _verify(self, token: str, alg: str, key: Any) -> tuple[Principal, float]:
        """The caller and the token's `exp`, from its signature and claims."""
        required = ["exp", "sub"] + ["aud"] * bool(self._audience) + ["iss"] * bool(self._issuer)
        try:
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
            raise _refusal(e) from None
        except (ValueError, OverflowError, TypeError):  # e.g. "exp": Infinity
            raise AuthenticationError("invalid token: a time claim is not a number") from None
        self._check_times(claims)
        role, sub = claims.get("role"), claims["sub"]
        if role not in ROLES or not isinstance(sub, str) or not sub:
            raise AuthenticationError("token has no valid role or subject")
        if len(sub) > MAX_SUBJECT_LENGTH or text_problem(sub):
            raise AuthenticationError("the token's subject is not acceptable text")
        if alg == "EdDSA":
            principal = Principal(
                sub,
                role,
                _scopes(claims),
                jti=str(claims.get("jti", "")),
                family=str(claims.get("fam", "")),
                issued_at=float(claims.get("iat", 0)),
                expires_at=float(claims["exp"]),
            )
            return principal, claims["exp"]
        return Principal(sub, role, _scopes(claims)), claims["exp"]

    def _check_times(self, claims: dict[str, Any]) -> None:
        """`exp`, `iat`, `nbf` are NumericDate numbers (RFC 7519), not strings the library
        would convert; `exp` is at most the maximum lifetime away."""
        for name in ("exp", "iat", "nbf"):
            if name not in claims:
                continue
            value = claims[name]
            if not isinstance(value, int | float) or isinstance(value, bool):
                raise AuthenticationError(f"invalid token: {name} must be a number")
            # Bounded before any arithmetic: an int like 10**400 overflows a float (a 500).
            if not -MAX_NUMERIC_DATE <= value <= MAX_NUMERIC_DATE:
                raise AuthenticationError(f"invalid token: {name} is out of range")
        if claims["exp"] - time.time() > self._max_ttl_s + LEEWAY_S:
            raise AuthenticationError(
                f"invalid token: it expires more than {self._max_ttl_s} s from now"
            )

    async def verify_async(self, token: str) -> Principal:
        """`verify`, off the event loop when it may have to fetch keys: the IdP's (RS256), or
        our own (EdDSA; read from PostgreSQL when their cache is stale or a token names a new
        kid). Any other token is judged with no I/O; a remembered one without reading it."""
        digest = _digest(token)
        known = self._verified.get(digest)
        header = None
        if known is not None:
            alg: object = known.alg
        else:
            try:
                header = jwt.get_unverified_header(token)
            except jwt.PyJWTError:
                header = None  # `verify` refuses it, with no I/O
            alg = header.get("alg") if header is not None else None
        fetches = (alg == "RS256" and self._jwks is not None) or (
            alg == "EdDSA" and self._own_keys is not None
        )
        if not fetches:
            return self.verify(token, header, digest)
        return await anyio.to_thread.run_sync(self.verify, token, header, digest)


def _digest(token: str) -> bytes:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).digest()


def _refusal(error: jwt.PyJWTError) -> AuthenticationError:
    if isinstance(error, jwt.InvalidSignatureError):
        return AuthenticationError("invalid token: signature verification failed")
    if isinstance(error, jwt.DecodeError):
        # The decoder's own words ("'utf-8' codec can't decode byte 0xb7…") say nothing a
        # client can act on and describe the parser: one message for every such token.
        return AuthenticationError("invalid token: malformed token")
    return AuthenticationError(f"invalid token: {error}")


def _scopes(claims: dict[str, Any]) -> frozenset[str]:
    """OAuth scopes: `scope` as a space-separated string (RFC 8693) or `scp` as a list."""
    given = claims.get("scope", claims.get("scp", ""))
    names = given.split() if isinstance(given, str) else given
    if not isinstance(names, list):
        return frozenset()
    return frozenset(n for n in names if isinstance(n, str) and not text_problem(n))


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


def issue_token(
    secret: str, sub: str, role: Role, ttl_s: int = 3600, scopes: tuple[str, ...] = ()
) -> str:
    now = int(time.time())
    claims: dict[str, Any] = {"sub": sub, "role": role, "iat": now, "exp": now + ttl_s}
    if scopes:
        claims["scope"] = " ".join(scopes)
    return jwt.encode(claims, secret, algorithm="HS256")
