"""Read models in Redis, with the projection's position written in the same atomic step.

Each projection writes under a generation prefix (`ev:<projection>:<generation>:`); the
active generation is named by `ev:<projection>:active`. A Lua script applies a batch of
changes and advances the position only if the position is new, so a change and its
position commit together and a repeated event is applied once.

Rebuilds write a new generation and then swap the pointer. A live runner names the
generation it read from; if the pointer has moved, the script refuses and the runner
restarts on the new generation from that generation's position: nothing is lost.
"""

from __future__ import annotations

import json
from typing import Any

import redis
from eventsourcing.persistence import Tracking

from projections.base import (
    Append,
    Change,
    Delete,
    DocumentView,
    IndexAdd,
    IndexRemove,
    Put,
)

_APPLY = """
if ARGV[3] ~= '' then
  local active = redis.call('GET', KEYS[2]) or ARGV[4]
  if active ~= ARGV[3] then return redis.error_reply('GENERATION_MOVED to ' .. active) end
end
local current = tonumber(redis.call('GET', KEYS[1]) or '0')
local position = tonumber(ARGV[1])
if position <= current then return 0 end
for _, op in ipairs(cjson.decode(ARGV[2])) do redis.call(unpack(op)) end
redis.call('SET', KEYS[1], ARGV[1])
return 1
"""

DEFAULT_GENERATION = "g1"


class GenerationMovedError(Exception):
    """A rebuild swapped the projection to a new generation: restart on it."""


def dumps(doc: Any) -> str:
    """Canonical JSON: the same document always gives the same bytes."""
    return json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def active_key(projection: str) -> str:
    return f"ev:{projection}:active"


def active_generation(client: redis.Redis, projection: str) -> str:
    value: bytes | None = client.get(active_key(projection))  # type: ignore[assignment]
    return value.decode() if value else DEFAULT_GENERATION


class RedisDocumentView(DocumentView):
    """One generation of a projection's documents. With `follow_active` (live runners),
    writes are refused once that generation is no longer the active one."""

    def __init__(
        self,
        client: redis.Redis,
        projection: str,
        generation: str | None = None,
        *,
        follow_active: bool = True,
    ):
        self.client = client
        self.projection = projection
        self.generation = generation or active_generation(client, projection)
        self.follow_active = follow_active
        self.prefix = f"ev:{projection}:{self.generation}:"
        self.position_key = self.prefix + "position"
        self._apply = client.register_script(_APPLY)

    def key(self, key: str) -> str:
        return self.prefix + key

    def get(self, key: str) -> dict[str, Any] | None:
        raw = self.client.get(self.key(key))
        return json.loads(raw) if raw else None

    def get_many(self, keys: list[str]) -> list[dict[str, Any] | None]:
        if not keys:
            return []
        raws: list[bytes | None] = self.client.mget([self.key(k) for k in keys])  # type: ignore[assignment]
        return [json.loads(raw) if raw else None for raw in raws]

    def members(self, key: str, start: int, stop: int) -> list[str]:
        """Members of a sorted index, highest score first."""
        members: list[bytes] = self.client.zrevrange(self.key(key), start, stop)  # type: ignore[assignment]
        return [m.decode() for m in members]

    def count(self, key: str) -> int:
        return int(self.client.zcard(self.key(key)))

    def parked(self) -> list[dict[str, Any]]:
        rows: list[bytes] = self.client.lrange(self.key("parked"), 0, -1)  # type: ignore[assignment]
        return [json.loads(r) for r in rows]

    def op(self, change: Change) -> list[Any]:
        if isinstance(change, Put):
            return ["SET", self.key(change.key), dumps(change.doc)]
        if isinstance(change, Delete):
            return ["DEL", self.key(change.key)]
        if isinstance(change, IndexAdd):
            return ["ZADD", self.key(change.key), change.score, change.member]
        if isinstance(change, IndexRemove):
            return ["ZREM", self.key(change.key), change.member]
        if isinstance(change, Append):
            return ["RPUSH", self.key(change.key), dumps(change.doc)]
        raise TypeError(f"unknown change {change!r}")

    def apply_ops(self, ops: list[list[Any]], position: int) -> None:
        expected = self.generation if self.follow_active else ""
        try:
            self._apply(
                keys=[self.position_key, active_key(self.projection)],
                args=[position, dumps(ops), expected, DEFAULT_GENERATION],
            )
        except redis.ResponseError as error:
            if "GENERATION_MOVED" in str(error):
                raise GenerationMovedError(str(error)) from None
            raise

    def apply(self, changes: list[Change], tracking: Tracking) -> None:
        self.apply_ops([self.op(c) for c in changes], tracking.notification_id)

    def count_failure(self, position: int) -> int:
        key = self.key(f"failures:{position}")
        count = int(self.client.incr(key))
        self.client.expire(key, 86400)
        return count

    def max_tracking_id(self, application_name: str) -> int | None:
        raw = self.client.get(self.position_key)
        return int(raw) if raw else None


class BufferedView(DocumentView):
    """Batches many events' changes into one atomic write (used by rebuilds): reads see
    the pending changes, and `flush` applies them with the last position. With `fresh` (a
    new generation, which only this writer writes) every document is kept in memory and a
    miss is a miss: no read goes to Redis."""

    def __init__(self, view: RedisDocumentView, batch: int = 500, *, fresh: bool = False):
        self.view = view
        self.batch = batch
        self.fresh = fresh
        self._overlay: dict[str, dict[str, Any] | None] = {}
        self._ops: list[list[Any]] = []
        self._position = 0
        self._events = 0

    def get(self, key: str) -> dict[str, Any] | None:
        if key in self._overlay:
            doc = self._overlay[key]
            return None if doc is None else json.loads(dumps(doc))
        return None if self.fresh else self.view.get(key)

    def apply(self, changes: list[Change], tracking: Tracking) -> None:
        for change in changes:
            if isinstance(change, Put):
                self._overlay[change.key] = change.doc
            elif isinstance(change, Delete):
                self._overlay[change.key] = None
            self._ops.append(self.view.op(change))
        self._position = tracking.notification_id
        self._events += 1
        if self._events >= self.batch:
            self.flush()

    def flush(self) -> None:
        if self._events:
            self.view.apply_ops(self._ops, self._position)
        if not self.fresh:
            self._overlay.clear()
        self._ops.clear()
        self._events = 0

    def count_failure(self, position: int) -> int:
        return self.view.count_failure(position)

    def max_tracking_id(self, application_name: str) -> int | None:
        return self._position or self.view.max_tracking_id(application_name)


class RedisParkingLot:
    """Parked events of a projection whose view is not in Redis (product search). Keyed by
    position, so parking the same event again (a retry, a rebuild) records it once."""

    def __init__(self, client: redis.Redis, projection: str, view: Any):
        self.client = client
        self.key = f"ev:{projection}:parked"
        self.view = view

    def count_failure(self, position: int) -> int:
        key = f"{self.key}:failures:{position}"
        count = int(self.client.incr(key))
        self.client.expire(key, 86400)
        return count

    def park(self, entry: dict[str, Any], tracking: Tracking) -> None:
        self.client.hset(self.key, str(tracking.notification_id), dumps(entry))
        self.view.apply([], tracking)

    def parked(self) -> list[dict[str, Any]]:
        rows: dict[bytes, bytes] = self.client.hgetall(self.key)  # type: ignore[assignment]
        return sorted((json.loads(v) for v in rows.values()), key=lambda e: e["position"])
