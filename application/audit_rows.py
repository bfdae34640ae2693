"""The rows auditors read of the log: an event as JSON-ready data (`describe`, `plain`) and
the whole log as a stream of them (`stream`).

Apart from application/audit.py so that `replay --all` (api/cli/lean.py) can write rows
without importing the aggregates the rest of the audit module names: an event's own
topic imports its module when a row of it is read.
"""

from __future__ import annotations

import dataclasses
import inspect
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from decimal import Decimal
from functools import lru_cache
from typing import Any
from uuid import UUID

from eventsourcing.persistence import Mapper, Notification, StoredEvent

from domain.money import Money
from domain.personal_data import PersonalData

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


# What a row needs of an event class, found once per class: its type's name, and for each
# metadata attribute `describe` reads, where the value comes from when the event's
# `__dict__` does not hold it (its class's plain value, else none).
_NOT_THERE = object()
_READ = ("originator_id", "originator_version", "timestamp", "actor", "correlation_id",
         "causation_id", "trace_parent")  # fmt: skip


class _RowShape:
    """How `describe` reads an event of one class, when the class lets it be read from the
    event's `__dict__` alone (`simple`): no attribute `describe` reads is a descriptor or
    the class's own `__getattr__`/`__getattribute__`, so `getattr(event, name)` is the
    `__dict__`'s value, else the class's plain value, else missing."""

    __slots__ = ("actor", "causation_id", "correlation_id", "simple", "trace_parent", "type")

    def __init__(self, cls: type) -> None:
        self.type = str(cls.__qualname__)
        found = {name: inspect.getattr_static(cls, name, _NOT_THERE) for name in _READ}
        self.simple = (
            cls.__getattribute__ is object.__getattribute__
            and not hasattr(cls, "__getattr__")
            and not any(hasattr(type(value), "__get__") for value in found.values())
            and all(found[name] is _NOT_THERE for name in _READ[:3])
        )
        # getattr(event, name, "")'s answer when the `__dict__` lacks `name`
        default = {k: "" if v is _NOT_THERE else v for k, v in found.items()}
        self.actor = default["actor"]
        self.correlation_id = default["correlation_id"]
        self.causation_id = default["causation_id"]
        self.trace_parent = found["trace_parent"]


_shapes: dict[type, _RowShape] = {}
_ids: dict[int, str] = {}
_IDS_KEPT = 65_536


def _remember_id(originator_id: Any) -> str:
    text = str(originator_id)
    if type(originator_id) is UUID:
        if len(_ids) >= _IDS_KEPT:
            _ids.clear()
        _ids[originator_id.int] = text
    return text


def _shape_of(cls: type) -> _RowShape:
    shape = _shapes.get(cls)
    if shape is None:
        shape = _shapes[cls] = _RowShape(cls)
    return shape


def describe_state(
    cls: type, state: dict[str, Any], position: int, *, reveal: bool = True
) -> dict[str, Any]:
    """`describe` of the event of class `cls` whose `__dict__` is `state` (what the mapper
    decodes), without the event: the same dict, key for key, in the same order. Where the
    class could make an attribute read differ from its `__dict__` (see `_RowShape`), or
    the state lacks what `describe` would fail on, the event is made and `describe` says."""
    shape = _shapes.get(cls) or _shape_of(cls)
    if not shape.simple or "timestamp" not in state or "originator_id" not in state:
        event: Any = object.__new__(cls)
        object.__setattr__(event, "__dict__", state)
        return describe(event, position, reveal=reveal)
    originator_id = state["originator_id"]
    # An aggregate's id as text, remembered by its 128-bit int: `UUID`'s own hash and
    # equality (what `_id_text`'s cache calls) are Python methods.
    aggregate_id = _ids.get(originator_id.int) if type(originator_id) is UUID else None
    if aggregate_id is None:
        aggregate_id = _remember_id(originator_id)
    row = {
        "position": position,
        "aggregate_id": aggregate_id,
        "version": state["originator_version"],
        "type": shape.type,
        "timestamp": state["timestamp"].isoformat(),
        "actor": state.get("actor", shape.actor),
        "correlation_id": state.get("correlation_id", shape.correlation_id),
        "causation_id": state.get("causation_id", shape.causation_id),
        # `plain` of a scalar is the scalar: most values are, and skip the call.
        "data": {
            k: v if type(v) in _SCALARS else plain(v, reveal=reveal)
            for k, v in state.items()
            if k not in METADATA
        },
    }
    trace_parent = state.get("trace_parent", shape.trace_parent)
    if trace_parent is not _NOT_THERE:
        row["trace_parent"] = trace_parent
    return row


def unreadable(notification: Notification, error: Exception) -> dict[str, Any]:
    """A stored event this code cannot read, as auditors see it in a stream: where it is
    and why, instead of a stream that stops there."""
    return unreadable_row(
        notification.id,
        notification.originator_id,
        notification.originator_version,
        notification.topic,
        error,
    )


def unreadable_row(
    position: int, originator_id: Any, version: int, topic: str, error: Exception
) -> dict[str, Any]:
    """`unreadable` of a row's fields."""
    return {
        "position": position,
        "aggregate_id": str(originator_id),
        "version": version,
        "type": "unreadable",
        "topic": topic,
        "error": f"{type(error).__name__}: {error}"[:300],
    }


Row = tuple[int, Any, int, str, bytes]  # (position, originator_id, version, topic, state)


def _as_rows(page: Sequence[Any]) -> Sequence[Row]:
    """A page of the log as row tuples, whether `select` gave tuples
    (`select_notification_rows`) or `Notification`s (`select_notifications`)."""
    if not page or type(page[0]) is tuple:
        return page
    return [(n.id, n.originator_id, n.originator_version, n.topic, n.state) for n in page]


def _readers_of(
    mapper: Mapper[UUID],
) -> tuple[Callable[[str, Any, int, bytes], Any], Callable[[Any, int], dict[str, Any]]]:
    """How a row of the log becomes a row of the stream, in two steps as before: `read`
    (the decoding: a row that fails here is shown as `unreadable`, and the stream goes on)
    and `show` (`describe`: an error here is not the row's, and ends the stream, as it
    did). With the read side's own mapper (`ReadMapper` without cipher or compressor, its
    decoding not overridden) `read` is its `decoded` and `show` is `describe_state`: no
    domain event made; with any other mapper, its domain event and `describe`."""
    from application.read_mapper import ReadMapper

    kind: Any = type(mapper)
    if (
        isinstance(mapper, ReadMapper)
        and mapper.cipher is None
        and mapper.compressor is None
        and kind.to_domain_event is ReadMapper.to_domain_event
        and kind.event_of_row is ReadMapper.event_of_row
        and kind.decoded is ReadMapper.decoded
    ):
        return mapper.decoded, _show_decoded

    to_domain_event = mapper.to_domain_event

    def read_event(topic: str, originator_id: Any, version: int, state: bytes) -> Any:
        return to_domain_event(StoredEvent(originator_id, version, topic, state))

    return read_event, describe


def _show_decoded(decoded: Any, position: int) -> dict[str, Any]:
    known, event_state = decoded
    return describe_state(known.cls, event_state, position)


def stream(
    mapper: Mapper[UUID],
    select: Any,
    *,
    since: int = 0,
    topics: Sequence[str] = (),
    batch: int = 2000,
) -> Iterator[dict[str, Any]]:
    """The whole log from position `since` (exclusive), in order, in constant memory (two
    pages). `select` is the recorder's `select_notification_rows` (or
    `select_notifications`); after a full page the next is read in another thread while
    this one is written (the read's round trip and psycopg's work on the rows, mostly
    outside the GIL, overlap the decoding, as in a rebuild). After a short page (the tail)
    the log is asked again only once its rows are out, as before: an event committed
    meanwhile is still in the stream."""
    read, show = _readers_of(mapper)
    reader = ThreadPoolExecutor(1, thread_name_prefix="stream-read")
    try:
        page = reader.submit(select, since + 1, batch, topics=topics)
        while rows := _as_rows(page.result()):
            after, full = rows[-1][0], len(rows) >= batch
            if full:  # more to come: read it now
                page = reader.submit(select, after + 1, batch, topics=topics)
            if show is _show_decoded:  # the read side's mapper: its pair, opened here
                for position, originator_id, version, topic, state in rows:
                    try:
                        known, event_state = read(topic, originator_id, version, state)
                    except Exception as error:  # one odd stored event must not end it
                        yield unreadable_row(position, originator_id, version, topic, error)
                        continue
                    yield describe_state(known.cls, event_state, position)
            else:
                for position, originator_id, version, topic, state in rows:
                    try:
                        decoded = read(topic, originator_id, version, state)
                    except Exception as error:  # one odd stored event must not end it
                        yield unreadable_row(position, originator_id, version, topic, error)
                        continue
                    yield show(decoded, position)
            if not full:  # the tail: asked again once these are out, as it always was
                page = reader.submit(select, after + 1, batch, topics=topics)
    finally:
        reader.shutdown(wait=True, cancel_futures=True)
