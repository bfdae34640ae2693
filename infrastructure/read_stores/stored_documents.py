"""Stored documents as bytes, for the event loop: one Redis round trip per read.

Each API process remembers the active generation of every Redis read model. A read asks,
in ONE `MGET`, for the active pointer and the document under the remembered generation: when
the pointer still names it, the document is the active generation's (MGET is atomic, so no
swap can fall between the two); when a rebuild has swapped generations, the process adopts
the new one and asks again. So a swap costs each process one extra round trip, a reader never
sees a 404 because of it, and after the swap no read is answered from the old generation.

`Changes` lets a read wait for a document's next write (an order's decision) on the event
loop, woken by Redis pub/sub."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import weakref
from collections.abc import AsyncIterator, Callable
from typing import Any

import redis
import redis.asyncio as aioredis

from infrastructure.read_stores.lean_redis import LeanReaders
from infrastructure.read_stores.redis_keys import active_key, changed_channel, document_key
from infrastructure.read_stores.redis_views import LoopRedis
from projections.base import DEFAULT_GENERATION

log = logging.getLogger(__name__)

# A rebuild keeps the generation it replaced; a reader racing more swaps than this in a row
# is answered from what the pointer names on its last attempt.
MAX_ATTEMPTS = 4
SUBSCRIBE_WAIT_S = 1.0  # for Redis to confirm a SUBSCRIBE, at most
RECHECK_S = 1.0  # a watch re-reads at least this often (a lost message, a reconnection)
RECONNECT_S = 0.5  # between attempts while the pub/sub connection is lost


class StoredDocuments:
    def __init__(self, aredis: LoopRedis, lean: LeanReaders | None = None):
        """`lean`: read through the pipelined reader
        (`infrastructure.read_stores.lean_redis`), a third of redis-py's CPU per read;
        without it, through redis-py."""
        self.aredis = aredis
        self.lean = lean
        self.generations: dict[str, str] = {}
        self.changes = Changes(aredis)

    def generation(self, projection: str) -> str:
        """The generation this process believes active (a cache, checked on every read)."""
        return self.generations.get(projection, DEFAULT_GENERATION)

    async def raw(self, projection: str, key: str) -> bytes | None:
        """The stored bytes of `key` in the active generation of `projection`, or None."""
        reader = self.lean.reader() if self.lean is not None else self.aredis.client()
        _, raw = await read_active(
            reader, self.generations, projection, lambda g: document_key(projection, g, key)
        )
        return _bytes(raw)


async def read_active(
    reader: Any, generations: dict[str, str], projection: str, key_of: Callable[[str], str]
) -> tuple[str, Any]:
    """(active generation, the value of `key_of(generation)`) in ONE round trip: an MGET of
    the active pointer and the key in the generation `generations` last saw active; a swap
    costs one more read, and `generations` learns it."""
    pointer = active_key(projection)
    generation = generations.get(projection, DEFAULT_GENERATION)
    for _ in range(MAX_ATTEMPTS):
        active, raw = await reader.mget(pointer, key_of(generation))
        named = _text(active) or DEFAULT_GENERATION
        if named == generation:
            return generation, raw
        generation = generations[projection] = named
    return generation, await reader.get(key_of(generation))


class Watch:
    """One request's interest in one document: set by each announced write of it, except
    a write whose message says the document's status is one of `quiet` (an order waited on
    for its decision is written several times while still `pending`: such a write cannot
    answer the wait, and a later write that leaves `pending` announces itself)."""

    def __init__(self, quiet: frozenset[str] = frozenset()) -> None:
        self._changed = asyncio.Event()
        self.quiet = quiet

    def wake(self, message: bytes | str | None = None) -> None:
        """`message`: the write's ("<position>" or "<position> <status>"); None (a lost
        connection) always wakes."""
        if self.quiet and message is not None:
            _, _, status = (_text(message) or "").partition(" ")
            if status in self.quiet:
                return
        self._changed.set()

    async def wait(self, timeout: float) -> bool:
        """Until the document is written (True) or `timeout` seconds pass (False)."""
        try:
            await asyncio.wait_for(self._changed.wait(), timeout)
        except TimeoutError:
            return False
        self._changed.clear()
        return True


class _Listener:
    """The pub/sub connection of one event loop: SUBSCRIBE to a document's channel while a
    request watches it, one task reading the messages and waking the watches."""

    def __init__(self, client: aioredis.Redis):
        self.pubsub = client.pubsub()
        self.watches: dict[str, set[Watch]] = {}
        self.ready: dict[str, asyncio.Future[None]] = {}
        self.task: asyncio.Task[None] | None = None

    async def watch(self, channel: str, quiet: frozenset[str]) -> Watch:
        watch = Watch(quiet)
        watching = self.watches.setdefault(channel, set())
        watching.add(watch)
        if len(watching) == 1:
            self.ready[channel] = asyncio.get_running_loop().create_future()
            await self.pubsub.subscribe(channel)
            if self.task is None or self.task.done():
                self.task = asyncio.get_running_loop().create_task(self._read())
        confirmed = self.ready.get(channel)
        if confirmed is not None:
            # Subscribed once Redis says so: a write between SUBSCRIBE and the confirmation
            # could otherwise be missed by the read that follows. Past the bound, the
            # watch still re-reads every RECHECK_S.
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.shield(confirmed), SUBSCRIBE_WAIT_S)
        return watch

    async def forget(self, channel: str, watch: Watch) -> None:
        watching = self.watches.get(channel)
        if watching is None:
            return
        watching.discard(watch)
        if not watching:
            del self.watches[channel]
            self.ready.pop(channel, None)
            with contextlib.suppress(redis.RedisError, OSError):
                await self.pubsub.unsubscribe(channel)

    async def _read(self) -> None:
        """Hand each message to the watches of its channel; on a lost connection wake
        every watch (each re-reads its document) and carry on (redis-py resubscribes)."""
        while self.watches:
            try:
                message = await self.pubsub.get_message(timeout=None)
            except (redis.RedisError, OSError) as error:
                log.warning("document announcements interrupted: %s", error)
                self._wake_all()
                await asyncio.sleep(RECONNECT_S)
                continue
            if message is not None:
                self._handle(message)

    def _handle(self, message: dict[str, Any]) -> None:
        channel = _text(message["channel"]) or ""
        kind = message["type"]
        if kind == "message":
            for watch in self.watches.get(channel, ()):
                watch.wake(message["data"])
        elif kind == "subscribe":
            confirmed = self.ready.pop(channel, None)
            if confirmed is not None and not confirmed.done():
                confirmed.set_result(None)

    def _wake_all(self) -> None:
        for watching in self.watches.values():
            for watch in watching:
                watch.wake()


class Changes:
    """Wake-ups when a live read model writes an announced document (its Lua script
    PUBLISHes on the document's channel, `redis_views`): a request waiting for an order's
    decision sleeps on the event loop until the write, with no polling of Redis. One
    pub/sub connection per event loop, subscribed only to the documents being waited on."""

    def __init__(self, aredis: LoopRedis):
        self.aredis = aredis
        self._listeners: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Listener] = (
            weakref.WeakKeyDictionary()
        )

    @contextlib.asynccontextmanager
    async def watching(
        self, projection: str, key: str, quiet: frozenset[str] = frozenset()
    ) -> AsyncIterator[Watch]:
        """Watch `key` of `projection`: subscribed before it yields, so a read inside the
        block and the wake-ups after it miss no write. Writes announced with a status in
        `quiet` do not wake (`Watch`)."""
        loop = asyncio.get_running_loop()
        listener = self._listeners.get(loop)
        if listener is None:
            listener = self._listeners[loop] = _Listener(self.aredis.client())
        channel = changed_channel(projection, key)
        watch = await listener.watch(channel, quiet)
        try:
            yield watch
        finally:
            await listener.forget(channel, watch)


def _text(value: bytes | str | None) -> str | None:
    return value.decode() if isinstance(value, bytes) else value


def _bytes(value: bytes | str | None) -> bytes | None:
    return value.encode() if isinstance(value, str) else value
