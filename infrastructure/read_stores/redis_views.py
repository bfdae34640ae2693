"""Read models in Redis, with the projection's position written in the same atomic step.

Each projection writes under a generation prefix (`ev:<projection>:<generation>:`); the
active generation is named by `ev:<projection>:active`. A Lua script applies a batch of
changes and advances the position only if the position is new, so a change and its
position commit together and a repeated event is applied once.

A live view of a read model whose documents clients wait on (`Projector.announced`: the
orders') also PUBLISHes, in the same script, the position on each written document's
channel (`redis_keys.changed_channel`), so a request waiting for that document to change is
woken by the write itself (`StoredDocuments.changes`), not by polling.

Rebuilds write a new generation and then swap the pointer. A live runner names the
generation it read from; if the pointer has moved, the script refuses and the runner
restarts on the new generation from that generation's position: nothing is lost.
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
import time
import weakref
from typing import Any

import orjson
import redis
import redis.asyncio as aioredis
from eventsourcing.persistence import Tracking
from redis.commands.core import AsyncScript

from infrastructure.read_stores.redis_keys import (
    active_key,
    changed_channel,
    generation_prefix,
    parked_key,
    position_key,
    positions_channel,
    retried_key,
)
from projections.base import (
    DEFAULT_GENERATION,
    Change,
    Compact,
    Delete,
    GenerationMovedError,
    IndexAdd,
    IndexRemove,
    PositionMovedError,
    Put,
    ReadStore,
)

log = logging.getLogger(__name__)

# Every write of a Redis read model, one or several models in ONE script call (the
# worker's read models after each drained read of the log). The generations, positions and
# retry counts of all of them are read by ONE `MGET`, every generation (and every expected
# position) is checked before anything is written; then each model's deletions and index
# changes, in order, and its documents and new position, all models' by ONE `MSET` (in
# chunks of MSET_CHUNK keys), the announced documents' channels and ONE message on the
# positions' channel. Its cost in Redis is 3 commands and the index changes per call, not
# 3-4 per read model plus one per document (a batch of the eight read models was ~33
# commands: bench/README.md, "Branch h24redis"). Documents are written last: a key is
# written once per batch (`Batch`) and is a document or an index, never both, so the order
# changes nothing. A position at or below the recorded one changes nothing.
#
# KEYS: the position keys of the N models, then their active keys, then their retried keys.
# ARGV[1]: the models' fields, ONE JSON array of nine per model (position, how many
# documents it writes, its other ops (DEL, ZADD, ZREM) as a JSON array or '', expected
# generation or '' (not a live view), the default generation, announced documents as a
# JSON array of [channel, status word or ''] or '', expected position or '', expected
# retries, the name to announce the
# position under or ''; all strings); ARGV[2]: the positions' channel; then every model's
# documents in turn, key and JSON. (The fields went as nine arguments per model, ~110 a
# call: redis-py's per-argument packing was a third of the read models' CPU, "Branch
# h24c".) The positions' message: "<read model> <generation> <position>" for each live
# model written, space-separated. A document's message: "<position>", or "<position>
# <status>" when the document written has a `status` word (an order's: a waiter for the
# decision skips the writes that leave it `pending`, `stored_documents.Changes`; a status
# word only, never the document's personal data).
_APPLY = """
local n = #KEYS / 3
local F = cjson.decode(ARGV[1])
local stored = redis.call('MGET', unpack(KEYS))
local currents = {}
for i = 1, n do
  local a = (i - 1) * 9
  if F[a + 4] ~= '' then
    local active = stored[n + i] or F[a + 5]
    if active ~= F[a + 4] then return redis.error_reply('GENERATION_MOVED to ' .. active) end
  end
  currents[i] = tonumber(stored[i] or '0')
  if F[a + 7] ~= '' then
    local retried = stored[2 * n + i] or '0'
    if currents[i] ~= tonumber(F[a + 7]) or retried ~= F[a + 8] then
      return redis.error_reply('POSITION_MOVED ' .. KEYS[i] .. ' to ' .. currents[i] .. ', '
        .. retried .. ' retried')
    end
  end
end
local writes, announced = {}, {}
local doc = 3
for i = 1, n do
  local a = (i - 1) * 9
  local docs = 2 * tonumber(F[a + 2])
  if tonumber(F[a + 1]) > currents[i] then
    if F[a + 3] ~= '' then
      for _, op in ipairs(cjson.decode(F[a + 3])) do redis.call(unpack(op)) end
    end
    for j = doc, doc + docs - 1 do writes[#writes + 1] = ARGV[j] end
    writes[#writes + 1] = KEYS[i]
    writes[#writes + 1] = F[a + 1]
    if F[a + 6] ~= '' then
      for _, said in ipairs(cjson.decode(F[a + 6])) do
        local message = F[a + 1]
        if said[2] ~= '' then message = message .. ' ' .. said[2] end
        redis.call('PUBLISH', said[1], message)
      end
    end
    if F[a + 9] ~= '' then
      announced[#announced + 1] = F[a + 9] .. ' ' .. F[a + 4] .. ' ' .. F[a + 1]
    end
  end
  doc = doc + docs
end
for j = 1, #writes, MSET_CHUNK do
  redis.call('MSET', unpack(writes, j, math.min(j + MSET_CHUNK - 1, #writes)))
end
if #announced > 0 then redis.call('PUBLISH', ARGV[2], table.concat(announced, ' ')) end
return #announced
"""
# Keys and values per MSET (even): well inside Lua's stack for `unpack` (8,000 slots).
MSET_CHUNK = 1000
_APPLY = _APPLY.replace("MSET_CHUNK", str(MSET_CHUNK))

POSITIONS_CHANNEL = positions_channel()
FAILURES_TTL_S = 86400
# What a live runner keeping documents in memory last wrote (or read at its start): the
# generation's position and its count of retried parked events.
Expected = tuple[int, int]


def _refusal(error: redis.ResponseError) -> Exception:
    """A script's refusal as the runner's error (the supervisor restarts on both)."""
    if "GENERATION_MOVED" in str(error):
        return GenerationMovedError(str(error))
    if "POSITION_MOVED" in str(error):
        return PositionMovedError(str(error))
    return error


def dumps(doc: Any) -> str:
    """Canonical JSON: the same document always gives the same bytes (keys sorted, compact,
    UTF-8; orjson, ~5x faster than json.dumps with the same options)."""
    return orjson.dumps(doc, option=orjson.OPT_SORT_KEYS).decode()


def active_generation(client: redis.Redis, projection: str) -> str:
    value: bytes | None = client.get(active_key(projection))  # type: ignore[assignment]
    return value.decode() if value else DEFAULT_GENERATION


def compact_persistence(client: redis.Redis, wait_s: float = 60.0) -> None:
    """Rewrite Redis' AOF and RDB from the dataset as it is now, so that overwritten values
    (an erasure's) are in neither file. A rewrite already running was forked before the
    overwrite and would keep them: wait for it, then start ours."""
    deadline = time.monotonic() + wait_s
    try:
        if client.info("persistence").get("aof_enabled"):
            while True:
                try:
                    client.bgrewriteaof()
                    break
                except redis.ResponseError as e:
                    if "in progress" not in str(e) or time.monotonic() > deadline:
                        raise
                    time.sleep(0.1)
        client.bgsave(schedule=True)
    except redis.RedisError as e:
        log.warning("Redis files not compacted after an erasure: %s", e)


class RedisDocumentView(ReadStore):
    """One generation of a projection's documents. With `follow_active` (live runners),
    writes are refused once that generation is no longer the active one."""

    # A write can name the position it expects the generation at (`apply(..., expected)`),
    # so a live runner may keep documents in memory (infrastructure/runtime/live_batch.py).
    checks_expected = True

    def __init__(
        self,
        client: redis.Redis,
        projection: str,
        generation: str | None = None,
        *,
        follow_active: bool = True,
        announce: tuple[str, ...] = (),
    ):
        self.client = client
        # Key prefixes whose writes are announced (a live view only: a rebuild's new
        # generation has no readers waiting on it).
        self.announce = announce if follow_active else ()
        self.projection = projection
        self.generation = generation or active_generation(client, projection)
        self.follow_active = follow_active
        self.prefix = generation_prefix(projection, self.generation)
        self.position_key = position_key(projection, self.generation)
        self.retried_key = retried_key(projection, self.generation)
        self.active_key = active_key(projection)

    def key(self, key: str) -> str:
        return self.prefix + key

    def get(self, key: str) -> dict[str, Any] | None:
        raw = self.client.get(self.key(key))
        return orjson.loads(raw) if raw else None

    def get_many(self, keys: list[str]) -> list[dict[str, Any] | None]:
        if not keys:
            return []
        raws: list[bytes | None] = self.client.mget([self.key(k) for k in keys])  # type: ignore[assignment]
        return [orjson.loads(raw) if raw else None for raw in raws]

    def members(self, key: str, start: int, stop: int) -> list[str]:
        """Members of a sorted index, highest score first."""
        members: list[bytes] = self.client.zrevrange(self.key(key), start, stop)  # type: ignore[assignment]
        return [m.decode() for m in members]

    def count(self, key: str) -> int:
        return int(self.client.zcard(self.key(key)))

    def op(self, change: Change) -> list[Any]:
        if isinstance(change, Put):
            return ["SET", self.key(change.key), dumps(change.doc)]
        if isinstance(change, Delete):
            return ["DEL", self.key(change.key)]
        if isinstance(change, IndexAdd):
            return ["ZADD", self.key(change.key), change.score, change.member]
        if isinstance(change, IndexRemove):
            return ["ZREM", self.key(change.key), change.member]
        raise TypeError(f"unknown change {change!r}")

    def apply(
        self, changes: list[Change], tracking: Tracking, expected: Expected | None = None
    ) -> None:
        """`expected` (a live runner keeping documents in memory, `runtime.live_batch`):
        the position and retry count it last wrote or read; any other refuses the write
        (`PositionMovedError`), as someone else has written this generation since."""
        RedisDocumentView.apply_together([(self, changes, tracking, expected)])

    def _args(
        self,
        changes: list[Change],
        tracking: Tracking,
        expected: Expected | None,
        docs: list[str],
    ) -> tuple[list[str], bool]:
        """This view's nine fields of `_APPLY` (its documents, key and JSON, appended to
        `docs`), and whether the write compacts."""
        ops: list[list[Any]] = []
        written = len(docs)
        compacts = False
        for change in changes:
            if isinstance(change, Put):  # a `Derived` too
                docs += (self.prefix + change.key, dumps(change.doc))
            elif isinstance(change, Compact):
                compacts = True
            else:
                ops.append(self.op(change))
        position, retried = (str(e) for e in expected) if expected is not None else ("", "")
        announced = self._announcements(changes)
        args: list[str] = [
            str(tracking.notification_id),
            str((len(docs) - written) // 2),
            dumps(ops) if ops else "",
            self.generation if self.follow_active else "",
            DEFAULT_GENERATION,
            dumps(announced) if announced else "",
            position,
            retried,
            # readers waiting for a position hear a live view's (`position_waits`)
            self.projection if self.follow_active else "",
        ]
        return args, compacts

    def retried(self) -> int:
        """How many parked events were written again into this generation so far."""
        raw = self.client.get(self.retried_key)
        return int(raw) if raw else 0

    @staticmethod
    def apply_together(
        writes: list[tuple[RedisDocumentView, list[Change], Tracking, Expected | None]],
    ) -> None:
        """Several views' writes (on one client) in ONE script call: one round trip and
        three commands of Redis' own for all of them (`_APPLY`); each view's changes still
        go in with its position only. A moved generation (or an expected position that is
        not the store's) refuses the whole call (`GenerationMovedError`,
        `PositionMovedError`)."""
        if not writes:
            return
        client = writes[0][0].client
        positions: list[str] = []
        actives: list[str] = []
        retries: list[str] = []
        args: list[str] = []  # the models' fields, sent as ONE JSON array
        docs: list[str] = []
        compacts = False
        for view, changes, tracking, expected in writes:
            positions.append(view.position_key)
            actives.append(view.active_key)
            retries.append(view.retried_key)
            view_args, compact = view._args(changes, tracking, expected, docs)
            args += view_args
            compacts = compacts or compact
        try:
            _script(client)(
                keys=[*positions, *actives, *retries],
                args=[orjson.dumps(args), POSITIONS_CHANNEL, *docs],
            )
        except redis.ResponseError as error:
            raise _refusal(error) from None
        if compacts:  # now that the writes are in; in the background
            threading.Thread(target=compact_persistence, args=(client,), daemon=True).start()

    def _channels(self, changes: list[Change]) -> list[str]:
        """The channels of the announced documents this write changes."""
        return [channel for channel, _ in self._announcements(changes)]

    def _announcements(self, changes: list[Change]) -> list[tuple[str, str]]:
        """(channel, status word or '') of each announced document this write changes: the
        word of a document written with a `status` (an order's), '' for a deletion."""
        if not self.announce:
            return []
        return [
            (changed_channel(self.projection, c.key), _status_word(c))
            for c in changes
            if isinstance(c, Put | Delete) and c.key.startswith(self.announce)
        ]

    def max_tracking_id(self, application_name: str) -> int | None:
        raw = self.client.get(self.position_key)
        return int(raw) if raw else None

    def parked(self) -> list[dict[str, Any]]:
        """This generation's parked events, by position."""
        return RedisParking(self.client, self.projection, self.generation).parked()


def _status_word(change: Change) -> str:
    """The `status` of a written document when it is one plain word (an order's), else ''
    (a message without a word wakes every waiter, as before)."""
    status = change.doc.get("status") if isinstance(change, Put) else None
    return status if isinstance(status, str) and status.isidentifier() else ""


_SCRIPTS: weakref.WeakKeyDictionary[redis.Redis, Any] = weakref.WeakKeyDictionary()


def _script(client: redis.Redis) -> Any:
    """`_APPLY` registered on `client` once (run by EVALSHA, loaded when missing)."""
    script = _SCRIPTS.get(client)
    if script is None:
        script = _SCRIPTS[client] = client.register_script(_APPLY)
    return script


class RedisParking:
    """The parked events and failure counts of one generation of any read model (Redis
    documents or the search index alike), keyed by position: parking the same event again
    (a retry, a rebuild) records it once. Dropped with its generation."""

    def __init__(self, client: redis.Redis, projection: str, generation: str):
        self.client = client
        self.key = parked_key(projection, generation)

    def count_failure(self, position: int) -> int:
        key = f"{self.key}:failures:{position}"
        pipe = self.client.pipeline()
        pipe.incr(key)
        pipe.expire(key, FAILURES_TTL_S)
        count, _ = pipe.execute()
        return int(count)

    def park(self, entry: dict[str, Any]) -> None:
        self.client.hset(self.key, str(entry["position"]), dumps(entry))

    def parked(self) -> list[dict[str, Any]]:
        rows: dict[bytes, bytes] = self.client.hgetall(self.key)  # type: ignore[assignment]
        return sorted((json.loads(v) for v in rows.values()), key=lambda e: e["position"])

    def drop(self) -> None:
        for key in self.client.scan_iter(match=self.key + "*", count=1000):
            self.client.delete(key)


class LoopRedis:
    """An asyncio Redis client per event loop (a client's connections belong to the loop
    that made them; test clients and uvicorn workers each run their own)."""

    def __init__(self, url: str):
        self.url = url
        self._clients: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, aioredis.Redis] = (
            weakref.WeakKeyDictionary()
        )

        self._scripts: weakref.WeakKeyDictionary[
            asyncio.AbstractEventLoop, dict[str, AsyncScript]
        ] = weakref.WeakKeyDictionary()

    def client(self) -> aioredis.Redis:
        loop = asyncio.get_running_loop()
        found = self._clients.get(loop)
        if found is None:
            found = self._clients[loop] = aioredis.Redis.from_url(self.url)
        return found

    def script(self, source: str) -> AsyncScript:
        """A Lua script on this loop's client (run by EVALSHA, loaded when missing)."""
        loop = asyncio.get_running_loop()
        scripts = self._scripts.setdefault(loop, {})
        found = scripts.get(source)
        if found is None:
            found = scripts[source] = self.client().register_script(source)
        return found


async def active_position(client: aioredis.Redis, projection: str) -> int:
    """The position of the active generation of a Redis read model, without blocking."""
    generation = await client.get(active_key(projection))
    if isinstance(generation, bytes):
        generation = generation.decode()
    name = generation or DEFAULT_GENERATION
    raw = await client.get(position_key(projection, name))
    return int(raw) if raw else 0
