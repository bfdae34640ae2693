"""A read waiting for an order's decision (`GET /orders/{id}?wait=`) re-reads the order
only when the write it hears can answer it: the read model's message on the order's
channel carries the order's status word, and the writes that leave the order `pending`
(stock reserved, payment requested, payment authorized) wake no one. A wait that runs
out still answers the order as it is then."""

from __future__ import annotations

import asyncio
import time

import redis
from eventsourcing.persistence import Tracking

from api.http import owned_reads
from infrastructure.read_stores.redis_keys import changed_channel
from infrastructure.read_stores.redis_views import LoopRedis, RedisDocumentView
from infrastructure.read_stores.stored_documents import RECHECK_S, StoredDocuments
from projections.base import APPLICATION, Put
from projections.readers import Viewer

ORDER_ID = "11111111-1111-1111-1111-111111111111"
KEY = f"order:{ORDER_ID}"
ANA = Viewer("ana")


class CountedReads(StoredDocuments):
    """The real stored documents, counting the reads of the order."""

    reads = 0
    first_read: asyncio.Event

    async def raw(self, projection: str, key: str) -> bytes | None:
        self.reads += 1
        self.first_read.set()
        return await super().raw(projection, key)


def order(status: str, version: int) -> dict:
    # the personal fields never go into the message: only the status word
    return {"order_id": ORDER_ID, "customer_id": "ana", "status": status, "version": version}


def pending_order(redis_url: str) -> tuple[RedisDocumentView, CountedReads]:
    """The orders view holding ANA's order, pending, and the API's counted reads of it."""
    client = redis.Redis.from_url(redis_url)
    view = RedisDocumentView(client, "orders", follow_active=True, announce=("order:",))
    view.apply([Put(KEY, order("pending", 1))], Tracking(APPLICATION, 1))
    return view, CountedReads(LoopRedis(redis_url))


def test_writes_that_leave_the_order_pending_do_not_wake_its_waiter(redis_url):
    view, stored = pending_order(redis_url)
    started = time.monotonic()

    async def wait_while_written() -> dict | None:
        stored.first_read = asyncio.Event()
        waiting = asyncio.create_task(owned_reads.order(stored, ORDER_ID, ANA, None, wait=10))
        await stored.first_read.wait()
        for position, status in enumerate(("pending", "pending", "pending"), start=2):
            doc = order(status, position)
            await asyncio.to_thread(view.apply, [Put(KEY, doc)], Tracking(APPLICATION, position))
            await asyncio.sleep(0.1)  # time enough for a woken waiter to read again
        decided = order("confirmed", 5)
        await asyncio.to_thread(view.apply, [Put(KEY, decided)], Tracking(APPLICATION, 5))
        return await waiting

    answered = asyncio.run(wait_while_written())
    assert answered is not None
    assert answered["status"] == "confirmed"
    assert answered["version"] == 5
    # The first read and the decision, not one per pending write (5); a watch also re-reads
    # every RECHECK_S, which a loaded machine may reach while the writes go on.
    rechecks = int((time.monotonic() - started) / RECHECK_S)
    assert stored.reads <= 2 + rechecks
    assert stored.reads < 5


def test_the_messages_carry_the_status_word_only(redis_url):
    client = redis.Redis.from_url(redis_url)
    view = RedisDocumentView(client, "orders", follow_active=True, announce=("order:",))
    pubsub = client.pubsub(ignore_subscribe_messages=True)
    pubsub.subscribe(changed_channel("orders", KEY))
    pubsub.get_message(timeout=1)  # the confirmation
    view.apply([Put(KEY, order("awaiting_payment", 1))], Tracking(APPLICATION, 7))
    message = None
    for _ in range(20):
        message = message or pubsub.get_message(timeout=0.5)
    pubsub.close()
    assert message is not None
    assert message["data"] == b"7 awaiting_payment"


def test_a_wait_that_runs_out_answers_the_order_as_it_is_then(redis_url):
    view, stored = pending_order(redis_url)

    async def wait_while_written() -> dict | None:
        stored.first_read = asyncio.Event()
        waiting = asyncio.create_task(owned_reads.order(stored, ORDER_ID, ANA, None, wait=0.5))
        await stored.first_read.wait()
        doc = order("pending", 2)
        await asyncio.to_thread(view.apply, [Put(KEY, doc)], Tracking(APPLICATION, 2))
        return await waiting

    answered = asyncio.run(wait_while_written())
    assert answered is not None
    assert (answered["status"], answered["version"]) == ("pending", 2)
