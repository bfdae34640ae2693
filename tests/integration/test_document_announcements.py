"""A live read model announces the writes of the documents clients wait on (the orders'),
in the same Lua script as the write; a request watching one is woken by that write, and
only the documents being watched are subscribed to."""

from __future__ import annotations

import asyncio

import redis
from eventsourcing.persistence import Tracking

from infrastructure.read_stores.redis_keys import changed_channel
from infrastructure.read_stores.redis_views import LoopRedis, RedisDocumentView
from infrastructure.read_stores.stored_documents import StoredDocuments
from projections.base import APPLICATION, Put
from tests.checkout import wait_until

ORDER = "order:11111111-1111-1111-1111-111111111111"


def live_orders(client: redis.Redis) -> RedisDocumentView:
    return RedisDocumentView(client, "orders", follow_active=True, announce=("order:",))


def test_a_watch_on_an_order_is_woken_by_the_read_models_write_of_it(redis_url):
    client = redis.Redis.from_url(redis_url)
    view = live_orders(client)
    stored = StoredDocuments(LoopRedis(redis_url))

    async def watch_then_write() -> tuple[bool, bytes | None]:
        async with stored.changes.watching("orders", ORDER) as watch:
            assert await stored.raw("orders", ORDER) is None
            # The write comes from another thread, as the worker's would.
            doc = {"status": "confirmed", "version": 3}
            await asyncio.to_thread(view.apply, [Put(ORDER, doc)], Tracking(APPLICATION, 7))
            woken = await watch.wait(10)
            return woken, await stored.raw("orders", ORDER)

    woken, body = asyncio.run(watch_then_write())
    assert woken
    assert body == b'{"status":"confirmed","version":3}'


def test_only_the_announced_documents_of_a_live_view_are_published(redis_url):
    client = redis.Redis.from_url(redis_url)
    changes = [Put(ORDER, {"v": 1}), Put("payment:1", {"v": 1}), Put("customer:1", {"v": 1})]
    assert live_orders(client)._channels(changes) == [changed_channel("orders", ORDER)]
    rebuilding = RedisDocumentView(
        client, "orders", "g2", follow_active=False, announce=("order:",)
    )
    assert rebuilding._channels(changes) == []  # a new generation has no one waiting on it
    assert RedisDocumentView(client, "carts", follow_active=True)._channels(changes) == []


def test_a_document_is_subscribed_to_only_while_it_is_watched(redis_url):
    client = redis.Redis.from_url(redis_url)
    stored = StoredDocuments(LoopRedis(redis_url))
    channel = changed_channel("orders", ORDER)

    def subscribers() -> int:
        return int(dict(client.pubsub_numsub(channel))[channel.encode()])

    async def watch() -> int:
        async with stored.changes.watching("orders", ORDER):
            during = await asyncio.to_thread(subscribers)
        await asyncio.to_thread(wait_until, lambda: subscribers() == 0, 10, "the unsubscribe")
        return during

    assert asyncio.run(watch()) == 1
