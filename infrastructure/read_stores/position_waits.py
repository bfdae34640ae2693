"""Requests waiting for a Redis read model to reach a consistency token, woken by its writes.

A command's answer carries the log position of its events (X-Consistency-Token); a read
sent with it waits until the read model has reached that position. The wait polled Redis —
a GET of the active generation and a GET of its position, every 2 ms backing off to every
50 ms: ~83 polls a second, two commands each, in the checkout profile (bench/README.md,
"Branch h24redis"). Now every live Redis read model's write PUBLISHes its new position on
one channel (`redis_keys.positions_channel`, in the write's own script:
`redis_views._APPLY`), and each event loop holds ONE subscription to it, shared by every
request waiting on that loop, kept LINGER_S after the last wait (so a busy API does not
subscribe and unsubscribe for every request). A wait:

1. makes sure the loop is subscribed (Redis has confirmed it);
2. reads the position ONCE (`PositionReader`: one MGET): a write before the subscription
   is seen by this read, a write after it by a message;
3. sleeps until a message names the generation it read at a position at or past its token
   (a live view's write checks, in the same script, that its generation is the active
   one), and reads once more on a message from another generation (a rebuild's swap), on
   a lost connection, and every RECHECK_S in case a message was lost, up to its deadline.

No polling: an idle wait costs one read per RECHECK_S.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import weakref
from dataclasses import dataclass, field
from typing import Any

import redis
import redis.asyncio as aioredis

from infrastructure.read_stores.redis_keys import position_key, positions_channel
from infrastructure.read_stores.redis_views import LoopRedis
from infrastructure.read_stores.stored_documents import read_active

log = logging.getLogger(__name__)

RECHECK_S = 1.0  # a wait reads the position again at least this often
LINGER_S = 5.0  # the subscription outlives its last wait this long
SUBSCRIBE_WAIT_S = 1.0  # for Redis to confirm the SUBSCRIBE, at most
RECONNECT_S = 0.5  # between attempts while the pub/sub connection is lost
CHANNEL = positions_channel()


class PositionReader:
    """A read model's position in ONE round trip (`stored_documents.read_active`, as
    documents are read): the generation this process last saw active, checked by the same
    MGET; a swap costs one more read."""

    def __init__(self) -> None:
        self.generations: dict[str, str] = {}

    async def read(self, client: aioredis.Redis, model: str) -> tuple[str, int]:
        """(active generation, its position)."""
        generation, raw = await read_active(
            client, self.generations, model, lambda g: position_key(model, g)
        )
        return generation, int(raw) if raw else 0


@dataclass(eq=False)
class _Waiter:
    model: str
    wanted: int
    generation: str | None = None  # as read (None: not read yet)
    heard: dict[str, int] = field(default_factory=dict)  # positions announced, by generation
    recheck: bool = False  # read again (another generation, a lost connection)
    woken: asyncio.Event = field(default_factory=asyncio.Event)

    def hear(self, generation: str, position: int) -> None:
        if position > self.heard.get(generation, 0):
            self.heard[generation] = position
        if self.generation is not None and generation != self.generation:
            self.recheck = True  # a swap: read which generation is active now
        self.woken.set()

    def answered(self, generation: str, position: int) -> bool:
        self.generation = generation
        return max(position, self.heard.get(generation, 0)) >= self.wanted


class _Listener:
    """The subscription of one event loop to the positions' channel, and its waits."""

    def __init__(self, client: aioredis.Redis):
        self.client = client
        self.waiters: set[_Waiter] = set()
        self.confirmed: asyncio.Future[None] | None = None
        self.open = False
        self.task: asyncio.Task[None] | None = None
        self.last_wait = 0.0
        self.subscribes = 0  # SUBSCRIBEs sent (for tests)

    async def subscribed(self) -> None:
        """Subscribed, and Redis has said so (past SUBSCRIBE_WAIT_S the wait re-reads every
        RECHECK_S anyway)."""
        loop = asyncio.get_running_loop()
        if not self.open:
            self.open = True
            pubsub = self.client.pubsub()
            self.confirmed = loop.create_future()
            self.subscribes += 1
            try:
                await pubsub.subscribe(CHANNEL)
            except BaseException:
                self.open = False
                with contextlib.suppress(redis.RedisError, OSError):
                    await pubsub.aclose()
                raise
            self.task = loop.create_task(self._read(pubsub))  # held: not collected while it runs
        if self.confirmed is not None and not self.confirmed.done():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.shield(self.confirmed), SUBSCRIBE_WAIT_S)

    async def _read(self, pubsub: Any) -> None:
        """Wake the waits a message answers; end (unsubscribed) once no request has waited
        for LINGER_S."""
        loop = asyncio.get_running_loop()
        try:
            while self.waiters or loop.time() - self.last_wait < LINGER_S:
                try:
                    message = await pubsub.get_message(timeout=LINGER_S)
                except (redis.RedisError, OSError) as error:
                    log.warning("position announcements interrupted: %s", error)
                    self._recheck_all()
                    await asyncio.sleep(RECONNECT_S)
                    continue
                if message is not None:
                    self._handle(message)
        finally:
            self.open = False  # decided with no await since the loop's test: a wait that
            # comes after it subscribes anew
            with contextlib.suppress(redis.RedisError, OSError):
                await pubsub.aclose()

    def _handle(self, message: dict[str, Any]) -> None:
        kind = message["type"]
        if kind == "subscribe":
            if self.confirmed is not None and not self.confirmed.done():
                self.confirmed.set_result(None)
            self._recheck_all()  # resubscribed: a message may have been missed meanwhile
            return
        if kind != "message" or not self.waiters:
            return
        words = (_text(message["data"]) or "").split()
        for i in range(0, len(words) - 2, 3):
            model, generation, position = words[i], words[i + 1], int(words[i + 2])
            for waiter in self.waiters:
                if waiter.model == model:
                    waiter.hear(generation, position)

    def _recheck_all(self) -> None:
        """Every wait that has read the position reads it again (one that has not will)."""
        for waiter in self.waiters:
            if waiter.generation is not None:
                waiter.recheck = True
                waiter.woken.set()


class PositionWaits:
    """Waits for Redis read models' positions, one shared subscription per event loop (see
    the module's docstring)."""

    def __init__(self, aredis: LoopRedis):
        self.aredis = aredis
        self.reader = PositionReader()
        self._listeners: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Listener] = (
            weakref.WeakKeyDictionary()
        )

    def listener(self) -> _Listener:
        loop = asyncio.get_running_loop()
        found = self._listeners.get(loop)
        if found is None:
            found = self._listeners[loop] = _Listener(self.aredis.client())
        return found

    async def reached(self, model: str, wanted: int, timeout: float) -> bool:
        """Whether `model`'s active generation reaches `wanted` within `timeout` seconds."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        listener = self.listener()
        client = self.aredis.client()
        waiter = _Waiter(model, wanted)
        listener.waiters.add(waiter)  # before the read: a message meanwhile is heard
        try:
            await listener.subscribed()
            if waiter.answered(*await self.reader.read(client, model)):
                return True
            while (left := deadline - loop.time()) > 0:
                try:
                    await asyncio.wait_for(waiter.woken.wait(), min(left, RECHECK_S))
                except TimeoutError:
                    waiter.recheck = True
                waiter.woken.clear()
                if waiter.recheck:
                    waiter.recheck = False
                    await listener.subscribed()  # again, if its connection ended
                    if waiter.answered(*await self.reader.read(client, model)):
                        return True
                elif waiter.answered(waiter.generation or "", 0):
                    return True  # announced: the generation read, at or past `wanted`
            return False
        finally:
            listener.waiters.discard(waiter)
            listener.last_wait = loop.time()


def _text(value: bytes | str | None) -> str | None:
    return value.decode() if isinstance(value, bytes) else value
