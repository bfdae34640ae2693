"""The active generation is cached per API process and checked in the same round trip as
each read: a rebuild's swap under concurrent readers gives no 404, and once the swap is
acknowledged no read is answered from the generation it replaced."""

from __future__ import annotations

import asyncio
import threading

import redis

from infrastructure.read_stores.projection_admin import rebuild
from infrastructure.read_stores.redis_views import LoopRedis, active_key
from infrastructure.read_stores.stored_documents import StoredDocuments
from projections.catalog import public_stock_key
from tests.checkout import register

KEY = public_stock_key("ECO-1")


def put(client: redis.Redis, generation: str, body: bytes) -> None:
    client.set(f"ev:stock_items:{generation}:{KEY}", body)


def drop(client: redis.Redis, generation: str) -> None:
    for key in client.scan_iter(match=f"ev:stock_items:{generation}:*"):
        client.delete(key)


def test_a_swap_under_concurrent_readers_never_misses_and_never_reads_the_old_one(
    redis_url,
):
    client = redis.Redis.from_url(redis_url)
    put(client, "g1", b'{"version":1}')
    client.set(active_key("stock_items"), "g1")
    stored = StoredDocuments(LoopRedis(redis_url))
    answers: list[tuple[bool, bytes | None]] = []  # (began after the swap, what was read)
    swapped = asyncio.Event()

    async def reader() -> None:
        while len(answers) < 3000:
            after = swapped.is_set()
            answers.append((after, await stored.raw("stock_items", KEY)))
            await asyncio.sleep(0)

    async def rebuild_and_swap() -> None:
        await asyncio.sleep(0.02)  # readers have cached g1 by now
        put(client, "g2", b'{"version":2}')
        client.set(active_key("stock_items"), "g2")  # the swap, acknowledged
        swapped.set()
        await asyncio.sleep(0.01)
        drop(client, "g1")  # later the old generation goes

    async def run() -> None:
        await asyncio.gather(*(reader() for _ in range(8)), rebuild_and_swap())

    asyncio.run(run())
    assert all(body is not None for _, body in answers), "a read missed during the swap"
    after = [body for began_after, body in answers if began_after]
    assert after
    assert set(after) == {b'{"version":2}'}
    assert b'{"version":1}' in {body for began_after, body in answers if not began_after}
    assert stored.generation("stock_items") == "g2"


def test_real_rebuilds_under_readers_answer_every_read(container):
    register(container.services, "ECO-1", 10)
    assert container.wait_for_projections(container.head_position(), timeout=30)
    stored = StoredDocuments(container.aredis)
    missing: list[int] = []
    done = threading.Event()

    def rebuild_twice() -> None:  # the second drops the generation readers started on
        try:
            rebuild(container, "stock_items")
            rebuild(container, "stock_items")
        finally:
            done.set()

    async def read_until_done() -> int:
        reads = 0
        while not done.is_set():
            if await stored.raw("stock_items", KEY) is None:
                missing.append(reads)
            reads += 1
            await asyncio.sleep(0)
        return reads

    async def run() -> list[int]:
        worker = threading.Thread(target=rebuild_twice)
        worker.start()
        try:
            return await asyncio.gather(*(read_until_done() for _ in range(4)))
        finally:
            await asyncio.to_thread(worker.join)

    reads = asyncio.run(run())
    assert sum(reads) > 0
    assert not missing
    active = container.redis.get(active_key("stock_items")).decode()
    assert stored.generation("stock_items") == active
