"""Retrying a parked event of a Redis projection: the event is read again from the log and
projected again on top of the current documents. On success its changes are written and its
parked entry removed in one atomic step (the projection's position does not move: it is past
the event already); on failure the entry stays, with the new error.

A retry applies the event's effect *now*. Where the order of effects matters (a later event
already changed the same document), rebuild the projection instead: a rebuild replays the
whole log in order.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from application.errors import AggregateNotFoundError
from domain.base import UnreadableEvent
from infrastructure.read_stores.redis_views import (
    RedisDocumentView,
    RedisParking,
    active_key,
    dumps,
)
from infrastructure.runtime.followers import READ_MODELS, with_sealer
from projections.base import DEFAULT_GENERATION, Compact, GenerationMovedError

# Applies the changes and removes the parked entry, only while the generation is active,
# and counts the retry: a live runner that keeps documents in memory sees the count move
# at its next write and restarts, reading the documents this retry changed again.
_RETRY = """
local active = redis.call('GET', KEYS[1]) or ARGV[2]
if active ~= ARGV[1] then return redis.error_reply('GENERATION_MOVED to ' .. active) end
if redis.call('HDEL', KEYS[2], ARGV[3]) == 0 then return 0 end
for _, op in ipairs(cjson.decode(ARGV[4])) do redis.call(unpack(op)) end
redis.call('INCR', KEYS[3])
return 1
"""


@dataclass(frozen=True)
class RetryOutcome:
    projection: str
    position: int
    ok: bool
    error: str | None = None


def _entry(parking: RedisParking, view: RedisDocumentView, position: int) -> dict[str, Any]:
    raw = parking.client.hget(parking.key, str(position))
    if raw is None:
        raise AggregateNotFoundError(
            f"no event at position {position} is parked in {view.projection}"
        )
    entry: dict[str, Any] = json.loads(raw)
    return entry


def _note_failure(parking: RedisParking, entry: dict[str, Any], error: str) -> None:
    entry = {**entry, "error": error, "retries": int(entry.get("retries", 0)) + 1}
    parking.park(entry)  # keyed by position: replaces the entry


def retry_parked(container: Any, name: str, position: int) -> RetryOutcome:
    """Project the parked event at `position` of the Redis read model `name` again."""
    model = READ_MODELS.get(name)
    if model is None or model.store != "redis":
        raise AggregateNotFoundError(f"no Redis projection {name!r}")
    view = RedisDocumentView(container.redis, name, follow_active=False)
    parking = model.parking(container, view.generation)
    entry = _entry(parking, view, position)
    services = container.services
    found = services.store.recorder.select_notifications(position, 1)
    if not found or found[0].id != position:
        raise AggregateNotFoundError(f"no event at position {position}")
    try:
        event = services.store.mapper.to_domain_event(found[0])
        if isinstance(event, UnreadableEvent):
            raise ValueError(event.error)
        changes = with_sealer(model.projector(view), container).evolve(event)
    except Exception as error:
        message = f"{type(error).__name__}: {error}"
        _note_failure(parking, entry, message)
        return RetryOutcome(name, position, False, message)
    script = view.client.register_script(_RETRY)
    ops = [view.op(change) for change in changes if not isinstance(change, Compact)]
    try:
        script(
            keys=[active_key(name), parking.key, view.retried_key],
            args=[view.generation, DEFAULT_GENERATION, str(position), dumps(ops)],
        )
    except Exception as error:
        if "GENERATION_MOVED" in str(error):
            raise GenerationMovedError(str(error)) from None
        raise
    return RetryOutcome(name, position, True)
