"""A request sent with a consistency token waits for its read model's position, woken by
the read model's own write (its script PUBLISHes the new position), not by polling Redis:
one shared subscription per event loop, one read of the position per wait, one more
after a generation's swap or a lost message."""

from __future__ import annotations

import asyncio
from typing import Any

import redis
from eventsourcing.persistence import Tracking

from infrastructure.read_stores.position_waits import PositionWaits
from infrastructure.read_stores.redis_keys import active_key
from infrastructure.read_stores.redis_views import LoopRedis, RedisDocumentView
from projections.base import APPLICATION, Put


def reads(client: redis.Redis) -> int:
    stats: dict[str, Any] = client.info("commandstats")  # type: ignore[assignment]
    return sum(int(stats.get(f"cmdstat_{c}", {}).get("calls", 0)) for c in ("get", "mget"))


def write(view: RedisDocumentView, position: int) -> None:
    view.apply([Put(f"order:{position}", {"v": position})], Tracking(APPLICATION, position))


def test_a_wait_is_woken_by_the_read_models_write_and_reads_the_position_once(redis_url):
    client = redis.Redis.from_url(redis_url)
    orders = RedisDocumentView(client, "orders", follow_active=True)
    write(orders, 3)
    waits = PositionWaits(LoopRedis(redis_url))

    async def wait_while_written() -> tuple[bool, float, int]:
        before = await asyncio.to_thread(reads, client)
        loop = asyncio.get_running_loop()
        started = loop.time()
        waiting = asyncio.create_task(waits.reached("orders", 9, 10.0))
        await asyncio.sleep(0.3)  # it waits: no polling meanwhile
        for position in (5, 9):  # the worker's writes, from another thread
            await asyncio.to_thread(write, orders, position)
        reached = await waiting
        spent = await asyncio.to_thread(reads, client) - before
        return reached, loop.time() - started, spent

    reached, seconds, spent = asyncio.run(wait_while_written())
    assert reached
    assert seconds < 1.0  # woken by the write, not by a re-read a second later
    # the one read after subscribing, and the two writes' scripts' own MGET: no polling
    assert spent == 1 + 2


def test_a_wait_already_reached_answers_after_one_read(redis_url):
    client = redis.Redis.from_url(redis_url)
    write(RedisDocumentView(client, "orders", follow_active=True), 7)
    waits = PositionWaits(LoopRedis(redis_url))
    assert asyncio.run(waits.reached("orders", 7, 5.0))


def test_a_wait_that_is_not_reached_ends_at_its_deadline_having_read_once_a_second(redis_url):
    client = redis.Redis.from_url(redis_url)
    write(RedisDocumentView(client, "carts", follow_active=True), 2)
    waits = PositionWaits(LoopRedis(redis_url))
    before = reads(client)
    assert not asyncio.run(waits.reached("carts", 50, 2.5))
    assert reads(client) - before <= 4  # 1 at the start, 1 per RECHECK_S (1 s)


def test_a_swap_to_another_generation_makes_the_wait_read_the_new_ones_position(redis_url):
    client = redis.Redis.from_url(redis_url)
    write(RedisDocumentView(client, "orders", follow_active=True), 4)
    waits = PositionWaits(LoopRedis(redis_url))

    async def swap_while_waiting() -> bool:
        waiting = asyncio.create_task(waits.reached("orders", 20, 10.0))
        await asyncio.sleep(0.3)
        rebuilt = RedisDocumentView(client, "orders", "g2", follow_active=False)
        await asyncio.to_thread(write, rebuilt, 20)  # a rebuild's writes: not announced
        await asyncio.to_thread(client.set, active_key("orders"), "g2")  # the swap
        # the live runner restarts on g2 and writes: announced under g2
        live = RedisDocumentView(client, "orders", follow_active=True)
        await asyncio.to_thread(write, live, 21)
        return await waiting

    assert asyncio.run(swap_while_waiting())


def test_the_waits_of_one_event_loop_share_one_subscription(redis_url):
    client = redis.Redis.from_url(redis_url)
    orders = RedisDocumentView(client, "orders", follow_active=True)
    write(orders, 1)
    waits = PositionWaits(LoopRedis(redis_url))

    async def many() -> tuple[list[bool], int]:
        tasks = [asyncio.create_task(waits.reached("orders", 2 + i % 3, 10.0)) for i in range(30)]
        await asyncio.sleep(0.3)
        for position in (2, 3, 4):
            await asyncio.to_thread(write, orders, position)
        answers = await asyncio.gather(*tasks)
        assert await waits.reached("orders", 4, 1.0)  # a later wait: still subscribed
        return answers, waits.listener().subscribes

    answers, subscribes = asyncio.run(many())
    assert all(answers)
    assert subscribes == 1
