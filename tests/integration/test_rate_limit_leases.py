"""Rate-limit leases against a real Redis: a large budget is spent a few tokens per round
trip, never more than the shared bucket allows, and what a lease leaves is given back."""

from __future__ import annotations

import asyncio
import time

import redis

from api.http.ratelimit import LEASE_MAX, LEASE_S, RateLimiter, lease_size
from infrastructure.read_stores.lean_redis import LeanReaders
from infrastructure.read_stores.redis_views import LoopRedis


def _limiter(redis_url: str, per_minute: int) -> RateLimiter:
    return RateLimiter(LoopRedis(redis_url), {"default": per_minute}, LeanReaders.of(redis_url))


def _bucket_tokens(redis_url: str) -> float:
    client = redis.Redis.from_url(redis_url)
    (key,) = client.keys("ratelimit:default:*")
    return float(client.hget(key, "tokens") or 0)


def test_small_budgets_take_one_token_a_request_and_large_ones_lease_a_few():
    assert lease_size(60) == 1
    assert lease_size(600) == 5
    assert lease_size(1200) == 10
    assert lease_size(10**9) == LEASE_MAX


def test_a_lease_spends_its_tokens_without_asking_redis(redis_url, monkeypatch):
    limiter = _limiter(redis_url, 1200)  # leases of 10
    asked = []
    original = limiter._take

    async def counting(*args):
        asked.append(args)
        return await original(*args)

    monkeypatch.setattr(limiter, "_take", counting)

    async def twenty() -> list[int]:
        return [(await limiter.take("default", "sub:ana")).remaining for _ in range(20)]

    remaining = asyncio.run(twenty())
    assert len(asked) == 2
    assert _bucket_tokens(redis_url) < 1200 - 19  # both leases were taken from the bucket
    assert remaining[:10] == sorted(remaining[:10], reverse=True)


def test_no_more_requests_pass_than_the_bucket_holds(redis_url):
    limiter = _limiter(redis_url, 1200)
    other_process = _limiter(redis_url, 1200)

    async def spend() -> int:
        allowed = 0
        for _ in range(700):
            for one in (limiter, other_process):
                allowed += (await one.take("default", "sub:ana")).allowed
        return allowed

    started = time.monotonic()
    allowed = asyncio.run(spend())
    elapsed = time.monotonic() - started
    # the bucket holds 1,200 and refills 20 a second; a lease's tokens may be spent up to
    # LEASE_S after they were taken (the documented tolerance)
    assert 1200 - 2 * lease_size(1200) <= allowed <= 1200 + 20 * (elapsed + LEASE_S)


def test_what_a_run_out_lease_leaves_goes_back_to_the_bucket(redis_url):
    limiter = _limiter(redis_url, 1200)

    async def one() -> None:
        await limiter.take("default", "sub:ana")

    asyncio.run(one())
    after_lease = _bucket_tokens(redis_url)  # 1,190: 10 taken, 1 spent
    for lease in limiter.leases.values():
        lease.expires = 0.0  # run out
    asyncio.run(one())  # gives back 9, takes 10 (without giving back: ~1,180)
    assert after_lease - 2 <= _bucket_tokens(redis_url) <= after_lease
