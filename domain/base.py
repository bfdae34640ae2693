"""Building blocks shared by every aggregate: who/why metadata on events, and the clock.

Every event carries `actor`, `correlation_id` and `causation_id`. They are never passed by
hand: the layer that starts a unit of work (the HTTP edge, the saga, a worker) opens an
`event_context`, and every event created inside it is stamped from that context. Event
timestamps come from the context's clock, so tests can replace time.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

from eventsourcing.domain import Aggregate


class Clock(Protocol):
    """Where the time comes from. Always timezone-aware UTC."""

    def now(self) -> datetime: ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(tz=UTC)


@dataclass(frozen=True)
class EventMetadata:
    actor: str = "system:unknown"
    correlation_id: str = ""
    causation_id: str = ""


_metadata: ContextVar[EventMetadata] = ContextVar(
    "event_metadata",
    default=EventMetadata(),  # noqa: B039 (frozen, immutable)
)
_clock: ContextVar[Clock] = ContextVar("clock", default=SystemClock())  # noqa: B039 (stateless)


@contextmanager
def event_context(metadata: EventMetadata, clock: Clock | None = None) -> Iterator[None]:
    """Stamp every event created inside the block with `metadata` and `clock`'s time."""
    meta_token = _metadata.set(metadata)
    clock_token = _clock.set(clock) if clock is not None else None
    try:
        yield
    finally:
        _metadata.reset(meta_token)
        if clock_token is not None:
            _clock.reset(clock_token)


def current_metadata() -> EventMetadata:
    return _metadata.get()


def now() -> datetime:
    return _clock.get().now()


class DomainError(Exception):
    """A command was refused by a business rule. Nothing was changed."""


class NotFoundError(DomainError):
    """The addressed aggregate does not exist."""


class InvalidInputError(DomainError):
    """A command's arguments are malformed or out of range."""


# Set by infrastructure/observability/tracing.py when tracing is on: the current span as a W3C
# traceparent.
# Off (None), events carry no trace attribute at all.
trace_parent_hook: Callable[[], str] | None = None


class EcoAggregate(Aggregate):
    """Base of every aggregate: events carry metadata and take time from the clock."""

    class Event(Aggregate.Event):
        def __post_init__(self) -> None:
            super().__post_init__()
            if trace_parent_hook is not None and (parent := trace_parent_hook()):
                # Stored with the event (not a field: old and untraced events lack it), so
                # whoever reacts to it continues the same trace.
                object.__setattr__(self, "trace_parent", parent)

        actor: str = field(default_factory=lambda: _metadata.get().actor, kw_only=True)
        correlation_id: str = field(
            default_factory=lambda: _metadata.get().correlation_id, kw_only=True
        )
        causation_id: str = field(
            default_factory=lambda: _metadata.get().causation_id, kw_only=True
        )

        @staticmethod
        def create_timestamp() -> datetime:
            return now()

    class Created(Event, Aggregate.Created):
        pass


def update_metadata(**changes: str) -> None:
    """Refine the current context in place (e.g. the actor, once the caller is known)."""
    from dataclasses import replace

    _metadata.set(replace(_metadata.get(), **changes))


@dataclass(frozen=True)
class UnreadableEvent:
    """A stored event this code cannot read (unknown type, corrupt bytes). Followers park
    it, with its position and error, rather than skip it silently or stop for good."""

    originator_id: Any
    originator_version: int
    topic: str
    error: str
