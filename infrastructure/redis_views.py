"""Read models in Redis, with the projection's position written in the same atomic step.

Each projection writes under a generation prefix (`ev:<projection>:<generation>:`); the
active generation is named by `ev:<projection>:active`. A Lua script applies a batch of
changes and advances the position only if the position is new, so a change and its
position commit together and a repeated event is applied once.
"""

from __future__ import annotations

import json
from typing import Any

import redis
from eventsourcing.persistence import Tracking

from projections.base import Change, Delete, DocumentView, IndexAdd, IndexRemove, Put

_APPLY = """
local current = tonumber(redis.call('GET', KEYS[1]) or '0')
local position = tonumber(ARGV[1])
if position <= current then return 0 end
for _, op in ipairs(cjson.decode(ARGV[2])) do redis.call(unpack(op)) end
redis.call('SET', KEYS[1], ARGV[1])
return 1
"""

DEFAULT_GENERATION = "g1"


def dumps(doc: Any) -> str:
    """Canonical JSON: the same document always gives the same bytes."""
    return json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def active_key(projection: str) -> str:
    return f"ev:{projection}:active"


def active_generation(client: redis.Redis, projection: str) -> str:
    value: bytes | None = client.get(active_key(projection))  # type: ignore[assignment]
    return value.decode() if value else DEFAULT_GENERATION


class RedisDocumentView(DocumentView):
    def __init__(self, client: redis.Redis, projection: str, generation: str | None = None):
        self.client = client
        self.projection = projection
        self.generation = generation or active_generation(client, projection)
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

    def _op(self, change: Change) -> list[Any]:
        if isinstance(change, Put):
            return ["SET", self.key(change.key), dumps(change.doc)]
        if isinstance(change, Delete):
            return ["DEL", self.key(change.key)]
        if isinstance(change, IndexAdd):
            return ["ZADD", self.key(change.key), change.score, change.member]
        if isinstance(change, IndexRemove):
            return ["ZREM", self.key(change.key), change.member]
        raise TypeError(f"unknown change {change!r}")

    def apply(self, changes: list[Change], tracking: Tracking) -> None:
        ops = dumps([self._op(c) for c in changes])
        self._apply(keys=[self.position_key], args=[tracking.notification_id, ops])

    def max_tracking_id(self, application_name: str) -> int | None:
        raw = self.client.get(self.position_key)
        return int(raw) if raw else None
