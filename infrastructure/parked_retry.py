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
from infrastructure.redis_views import (
    DEFAULT_GENERATION,
    GenerationMovedError,
    RedisDocumentView,
    active_key,
    dumps,
)
from projections.base import PARKED

# Applies the changes and removes the parked entry, only while the generation is active.
_RETRY = """
local active = redis.call('GET', KEYS[1]) or ARGV[2]
if active ~= ARGV[1] then return redis.error_reply('GENERATION_MOVED to ' .. active) end
if redis.call('LREM', KEYS[2], 1, ARGV[3]) == 0 then return 0 end
for _, op in ipairs(cjson.decode(ARGV[4])) do redis.call(unpack(op)) end
return 1
"""


@dataclass(frozen=True)
class RetryOutcome:
    projection: str
    position: int
    ok: bool
    error: str | None = None


def _raw_entry(view: RedisDocumentView, position: int) -> bytes:
    raws: list[bytes] = view.client.lrange(view.key(PARKED), 0, -1)  # type: ignore[assignment]
    for raw in raws:
        if json.loads(raw).get("position") == position:
            return raw
    raise AggregateNotFoundError(f"no event at position {position} is parked in {view.projection}")


def _note_failure(view: RedisDocumentView, raw: bytes, error: str) -> None:
    entry = json.loads(raw)
    entry["error"] = error
    entry["retries"] = int(entry.get("retries", 0)) + 1
    # Replace the entry in place (the runner only appends to this list, never reorders).
    raws: list[bytes] = view.client.lrange(view.key(PARKED), 0, -1)  # type: ignore[assignment]
    if raw in raws:
        view.client.lset(view.key(PARKED), raws.index(raw), dumps(entry))


def retry_parked(container: Any, name: str, position: int) -> RetryOutcome:
    """Project the parked event at `position` of the Redis projection `name` again."""
    from infrastructure.bootstrap import REDIS_PROJECTIONS

    if name not in REDIS_PROJECTIONS:
        raise AggregateNotFoundError(f"no Redis projection {name!r}")
    view = container.view(name)
    raw = _raw_entry(view, position)
    shop = container.shop
    found = shop.recorder.select_notifications(position, 1)
    if not found or found[0].id != position:
        raise AggregateNotFoundError(f"no event at position {position}")
    try:
        event = shop.mapper.to_domain_event(found[0])
        if isinstance(event, UnreadableEvent):
            raise ValueError(event.error)
        changes = REDIS_PROJECTIONS[name](view).evolve(event)
    except Exception as error:
        message = f"{type(error).__name__}: {error}"
        _note_failure(view, raw, message)
        return RetryOutcome(name, position, False, message)
    script = view.client.register_script(_RETRY)
    ops = [view.op(change) for change in changes]
    try:
        script(
            keys=[active_key(name), view.key(PARKED)],
            args=[view.generation, DEFAULT_GENERATION, raw, dumps(ops)],
        )
    except Exception as error:
        if "GENERATION_MOVED" in str(error):
            raise GenerationMovedError(str(error)) from None
        raise
    return RetryOutcome(name, position, True)
