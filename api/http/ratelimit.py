"""Per-client rate limits: a token bucket per client and route group in Redis, taken and
refilled in one Lua script (atomic across API processes). The client is the JWT subject
when a valid bearer token comes with the request, else the client's IP address. Over the
budget: 429 problem+json with Retry-After. Redis unreachable: the request passes (logged).
The script goes through the pipelined connection of `infrastructure.read_stores.lean_redis`
when there is one (a third of redis-py's CPU per request; redis-py for a TLS URL).

Leases: where a budget is large (at least twice `LEASE_PER_MINUTE` a minute), a process takes
a client's tokens from the bucket a few at a time (`lease_size`: at most half a second's
refill, at most `LEASE_MAX`) and spends them locally, without a round trip, for at most
`LEASE_S`; what is left when the lease runs out goes back to the bucket with that client's
next take from this process. The limit stays the bucket's: every request spends a token
taken from the shared bucket, so across any number of processes a client is never allowed
more than the bucket allows, plus at most one lease's time of refill (a token taken just
before a refill and spent up to `LEASE_S` later: ≤ `limit / 60` requests, 1.7 % of a
minute's budget). The other way, a client may be refused up to `lease_size - 1` tokens
early per other process that holds a lease of its tokens (≤ 0.8 % of the budget each) until
that lease runs out. `RateLimit-Remaining` counts the bucket as of this process's last take
plus its lease. Small budgets (the defaults' orders, 60 a minute; any test's) take one
token a request from Redis, exactly as without leases."""

from __future__ import annotations

import hashlib
import logging
import math
import re
import time
from dataclasses import dataclass
from typing import Any

import redis
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.http.auth import AuthenticationError, TokenVerifier, principal_of
from api.http.errors import problem
from infrastructure.read_stores.lean_redis import LeanReaders, LeanScript
from infrastructure.read_stores.redis_views import LoopRedis
from infrastructure.settings import Settings

log = logging.getLogger("ecovarejo.edge")

# KEYS[1] the bucket; ARGV: capacity, refill per millisecond, and optionally how many tokens
# to take at most (default 1) and how many an expired lease gives back first (default 0).
# Returns the tokens taken (0: refused), the tokens left (floored) and, when refused, the
# milliseconds until a token is back.
_TAKE = """
local now_parts = redis.call('TIME')
local now = tonumber(now_parts[1]) * 1000 + math.floor(tonumber(now_parts[2]) / 1000)
local capacity = tonumber(ARGV[1])
local rate = tonumber(ARGV[2])
local wanted = tonumber(ARGV[3]) or 1
local returned = tonumber(ARGV[4]) or 0
local state = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(state[1]) or capacity
local at = tonumber(state[2]) or now
tokens = math.min(capacity, tokens + math.max(0, now - at) * rate + returned)
local allowed, wait = 0, 0
if tokens >= 1 then
  allowed = math.min(wanted, math.floor(tokens))
  tokens = tokens - allowed
else
  wait = math.ceil((1 - tokens) / rate)
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', tostring(now))
redis.call('PEXPIRE', KEYS[1], math.ceil(capacity / rate) + 1000)
return {allowed, math.floor(tokens), wait}
"""
_TAKE_SCRIPT = LeanScript(_TAKE)

EXEMPT = re.compile(r"^(/api/v1)?/(health|ready|metrics)$|^/docs|^/redoc|^/api/v1/openapi\.json$")
_ORDERS = re.compile(r"^/api/v1/(orders(/.*)?|carts/[^/]+/checkout)$")
_READS = re.compile(r"^/api/v1/(stock-items|products)(/.*)?$")


def route_group(method: str, path: str) -> str | None:
    """The budget a request draws on: `orders` (placing and changing orders), `reads`
    (catalog reads), `default`; None for probes, metrics and docs, which are not limited."""
    if method == "OPTIONS" or EXEMPT.match(path):
        return None
    if method != "GET" and _ORDERS.match(path):
        return "orders"
    if method in ("GET", "HEAD") and _READS.match(path):
        return "reads"
    return "default"


@dataclass(frozen=True)
class Decision:
    allowed: bool
    limit: int
    remaining: int
    retry_after_s: int


@dataclass(frozen=True)
class _Taken(Decision):
    allowed_count: int


LEASE_S = 1.0  # how long a lease's tokens may be spent after they were taken
LEASE_MAX = 32  # tokens per lease at most: one round trip per 32 requests of a busy client
LEASE_PER_MINUTE = 120  # a lease is at most 1/120 of a minute's budget: half a second's refill
MAX_LEASES = 10_000  # clients with a lease in one process; past it, expired ones are dropped


def lease_size(per_minute: int) -> int:
    """Tokens taken from the bucket at once for a budget (1: no lease, a round trip each)."""
    return max(1, min(LEASE_MAX, per_minute // LEASE_PER_MINUTE))


class _Lease:
    """A client's tokens taken from its bucket by this process, not yet spent."""

    __slots__ = ("expires", "left", "remaining")

    def __init__(self, left: int, remaining: int, expires: float):
        self.left = left
        self.remaining = remaining  # the bucket's tokens when they were taken
        self.expires = expires


class RateLimiter:
    """Asynchronous: the event loop never waits on Redis."""

    def __init__(
        self, client: LoopRedis, per_minute: dict[str, int], lean: LeanReaders | None = None
    ):
        self.client = client
        self.per_minute = per_minute
        self.lean = lean
        self.leases: dict[tuple[str, str], _Lease] = {}

    @classmethod
    def from_settings(cls, client: LoopRedis, settings: Settings) -> RateLimiter:
        return cls(
            client,
            {
                "orders": settings.ratelimit_orders_per_minute,
                "reads": settings.ratelimit_reads_per_minute,
                "default": settings.ratelimit_default_per_minute,
            },
            LeanReaders.of(client.url),
        )

    async def take(self, group: str, client_id: str) -> Decision:
        limit = self.per_minute[group]
        size = lease_size(limit)
        if size == 1:
            return await self._take(group, client_id, limit, 1, 0)
        key = (group, client_id)
        now = time.monotonic()
        lease = self.leases.get(key)
        returned = 0
        if lease is not None:
            if lease.left > 0 and now < lease.expires:
                lease.left -= 1
                return Decision(True, limit, lease.remaining + lease.left, 0)
            # spent or run out: its tokens go back with this take (once: dropped first)
            returned = lease.left if now >= lease.expires else 0
            del self.leases[key]
        decision = await self._take(group, client_id, limit, size, returned)
        taken = decision.allowed_count
        if taken > 1:
            self._keep(key, taken - 1, decision.remaining, now + LEASE_S)
        left = self.leases[key].left if key in self.leases else 0
        return Decision(decision.allowed, limit, decision.remaining + left, decision.retry_after_s)

    def _keep(self, key: tuple[str, str], tokens: int, remaining: int, expires: float) -> None:
        """Tokens taken and not spent yet, added to the client's lease if another request
        kept one meanwhile (whose earlier end then holds for both)."""
        lease = self.leases.get(key)
        if lease is not None and time.monotonic() < lease.expires:
            lease.left += tokens
            lease.remaining = remaining
            return
        if len(self.leases) >= MAX_LEASES:
            now = time.monotonic()
            for old in [k for k, v in self.leases.items() if v.expires <= now]:
                del self.leases[old]
            if len(self.leases) >= MAX_LEASES:  # tokens lost: stricter, never looser
                self.leases.clear()
        self.leases[key] = _Lease(tokens, remaining, expires)

    async def _take(
        self, group: str, client_id: str, limit: int, wanted: int, returned: int
    ) -> _Taken:
        digest = hashlib.sha256(client_id.encode()).hexdigest()[:32]
        key = f"ratelimit:{group}:{digest}"
        args: list[Any] = [limit, limit / 60_000]
        if wanted > 1 or returned:
            args += [wanted, returned]
        if self.lean is not None:
            reply = await self.lean.reader().script(_TAKE_SCRIPT, [key], args)
        else:
            reply = await self.client.script(_TAKE)(keys=[key], args=args)
        if not isinstance(reply, list) or len(reply) != 3:
            raise redis.ResponseError("the rate-limit script answered something else")
        taken, remaining, wait_ms = (int(value or 0) for value in reply)
        retry_after = max(1, math.ceil(wait_ms / 1000)) if not taken else 0
        return _Taken(taken > 0, limit, remaining, retry_after, taken)


async def client_id(scope: Scope, verifier: TokenVerifier) -> str:
    principal = await principal_of(scope, verifier)
    if not isinstance(principal, AuthenticationError):
        return f"sub:{principal.actor}"
    client = scope.get("client")
    return f"ip:{client[0] if client else 'unknown'}"


@dataclass(frozen=True)
class Verdict:
    """What the limits said of one request: the headers its answer carries, and the 429
    to send instead when the budget is spent."""

    headers: list[tuple[bytes, bytes]]
    refusal: Response | None = None


# Where a verdict is kept once taken (the fast path's, when it hands the request on), so a
# request draws one token, whichever layer answers it.
VERDICT_KEY = "ecovarejo.ratelimit"


class RateLimits:
    """The rate-limit decision of a request, shared by the middleware and the fast path
    (`api.http.fast_path`)."""

    def __init__(self, limiter: RateLimiter, verifier: TokenVerifier):
        self.limiter = limiter
        self.verifier = verifier

    async def verdict(self, scope: Scope) -> Verdict | None:
        """None: not limited (a probe, metrics, docs), or Redis failed (logged)."""
        if VERDICT_KEY in scope:
            verdict: Verdict | None = scope[VERDICT_KEY]
            return verdict
        group = route_group(scope["method"], scope["path"])
        if group is None:
            return None
        who = await client_id(scope, self.verifier)
        try:
            decision = await self.limiter.take(group, who)
        except redis.RedisError as e:
            log.warning("rate limit not checked, Redis failed: %s", type(e).__name__)
            return None
        headers = [
            (b"ratelimit-limit", str(decision.limit).encode()),
            (b"ratelimit-remaining", str(decision.remaining).encode()),
        ]
        if decision.allowed:
            return Verdict(headers)
        detail = f"too many requests for {group}; retry after {decision.retry_after_s} s"
        refused = {k.decode(): v.decode() for k, v in headers}
        refused["Retry-After"] = str(decision.retry_after_s)
        return Verdict(headers, problem(429, detail, headers=refused))


class RateLimitMiddleware:
    def __init__(self, app: ASGIApp, limits: RateLimits):
        self.app = app
        self.limits = limits

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        verdict = await self.limits.verdict(scope) if scope["type"] == "http" else None
        if verdict is None:
            await self.app(scope, receive, send)
            return
        if verdict.refusal is not None:
            await verdict.refusal(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), *verdict.headers]
            await send(message)

        await self.app(scope, receive, send_with_headers)
