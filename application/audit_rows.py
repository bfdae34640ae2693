"""The rows auditors read of the log: an event as JSON-ready data (`describe`, `plain`) and
the whole log as a stream of them (`stream`).

Apart from application/audit.py so that `replay --all` (api/cli/lean.py) can write rows
without importing the aggregates the rest of the audit module names: an event's own
topic imports its module when a row of it is read.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from decimal import Decimal
from functools import lru_cache
from typing import Any
from uuid import UUID

from eventsourcing.persistence import Mapper, Notification

from domain.money import Money
from domain.personal import PersonalData

MASK = "***"
# Coarse facts an auditor may need (tax jurisdiction) that identify no one.
SHOWN_WHEN_MASKED = frozenset({"state", "country"})


def masked(data: PersonalData) -> dict[str, Any]:
    """Personal data as auditors see it without the `auditor:pii` scope: which fields are
    held, not what they say."""
    if data.value is None:
        return {"erased": True}
    fields = {k: v if k in SHOWN_WHEN_MASKED else MASK for k, v in data.value.items()}
    return {**fields, "masked": True}


_SCALARS = frozenset({str, int, bool, float, type(None)})


def plain(value: Any, *, reveal: bool = True) -> Any:
    """A JSON-ready copy: Money as {amount, currency}, Decimal as string, erased personal
    data as {"erased": true}, personal data masked unless `reveal`."""
    if type(value) in _SCALARS:  # most values: one look-up, no isinstance chain
        return value
    if isinstance(value, Money):
        return value.to_dict()
    if isinstance(value, PersonalData):
        return value.shown() if reveal else masked(value)
    if isinstance(value, Decimal | UUID):
        return str(value)
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): plain(v, reveal=reveal) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [plain(v, reveal=reveal) for v in value]
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {
            f.name: plain(getattr(value, f.name), reveal=reveal) for f in dataclasses.fields(value)
        }
    return value


METADATA = frozenset(
    {
        "originator_id",
        "originator_version",
        "timestamp",
        "actor",
        "correlation_id",
        "causation_id",
        "originator_topic",
        "trace_parent",
    }
)


def event_type(event: Any) -> str:
    return str(type(event).__qualname__)


# An aggregate's id as text, once per aggregate rather than per event (str(UUID) is ~1 us
# of Python; a log has many events per aggregate).
_id_text: Callable[[Any], str] = lru_cache(maxsize=4096)(str)


def describe(event: Any, position: int, *, reveal: bool = True) -> dict[str, Any]:
    """An event as auditors read it: position, metadata, and its data."""
    data = {k: plain(v, reveal=reveal) for k, v in vars(event).items() if k not in METADATA}
    return {
        "position": position,
        "aggregate_id": _id_text(event.originator_id),
        "version": event.originator_version,
        "type": event_type(event),
        "timestamp": event.timestamp.isoformat(),
        "actor": getattr(event, "actor", ""),
        "correlation_id": getattr(event, "correlation_id", ""),
        "causation_id": getattr(event, "causation_id", ""),
        "data": data,
        **({"trace_parent": event.trace_parent} if hasattr(event, "trace_parent") else {}),
    }


def unreadable(notification: Notification, error: Exception) -> dict[str, Any]:
    """A stored event this code cannot read, as auditors see it in a stream: where it is
    and why, instead of a stream that stops there."""
    return {
        "position": notification.id,
        "aggregate_id": str(notification.originator_id),
        "version": notification.originator_version,
        "type": "unreadable",
        "topic": notification.topic,
        "error": f"{type(error).__name__}: {error}"[:300],
    }


def stream(
    mapper: Mapper[UUID],
    select: Any,
    *,
    since: int = 0,
    topics: Sequence[str] = (),
    batch: int = 2000,
) -> Iterator[dict[str, Any]]:
    """The whole log from position `since` (exclusive), in order, in constant memory (two
    pages). `select` is the recorder's `select_notifications`; after a full page the next
    is read in another thread while this one is written (the read's round trip and
    psycopg's work on the rows, mostly outside the GIL, overlap the decoding, as in a
    rebuild). After a short page (the tail) the log is asked again only once its rows are
    out, as before: an event committed meanwhile is still in the stream."""
    reader = ThreadPoolExecutor(1, thread_name_prefix="stream-read")
    try:
        page = reader.submit(select, since + 1, batch, topics=topics)
        while notifications := page.result():
            after, full = notifications[-1].id, len(notifications) >= batch
            if full:  # more to come: read it now
                page = reader.submit(select, after + 1, batch, topics=topics)
            for notification in notifications:
                try:
                    event = mapper.to_domain_event(notification)
                except Exception as error:  # one odd stored event must not end the stream
                    yield unreadable(notification, error)
                    continue
                yield describe(event, notification.id)
            if not full:  # the tail: asked again once these are out, as it always was
                page = reader.submit(select, after + 1, batch, topics=topics)
    finally:
        reader.shutdown(wait=True, cancel_futures=True)
