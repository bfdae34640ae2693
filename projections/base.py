"""What a projector needs from its store: documents it can read, and an atomic write of
its changes together with the log position they came from.

A projector turns each event into a list of `Change`s; the view applies them and records
the position in one atomic step, so a crash never leaves a change without its position or
a position without its change.
"""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from functools import singledispatchmethod
from typing import Any, Protocol

from eventsourcing.persistence import Tracking, TrackingRecorder
from eventsourcing.projection import Projection

from domain.base import UnreadableEvent

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Put:
    """Store `doc` (a JSON document) under `key`."""

    key: str
    doc: dict[str, Any]


@dataclass(frozen=True)
class Delete:
    key: str


@dataclass(frozen=True)
class IndexAdd:
    """Add `member` to the sorted index `key` with `score` (e.g. a customer's orders)."""

    key: str
    member: str
    score: float


@dataclass(frozen=True)
class IndexRemove:
    key: str
    member: str


@dataclass(frozen=True)
class Append:
    """Append `doc` to the list `key` (e.g. the parked events of a projection)."""

    key: str
    doc: dict[str, Any]


Change = Put | Delete | IndexAdd | IndexRemove | Append
PARKED = "parked"
MAX_ATTEMPTS = 5


class DocumentView(TrackingRecorder, ABC):
    """A read-model store that records its tracking position atomically with its changes."""

    @abstractmethod
    def get(self, key: str) -> dict[str, Any] | None: ...

    @abstractmethod
    def apply(self, changes: list[Change], tracking: Tracking) -> None:
        """Apply `changes` and advance the position to `tracking`, atomically, once."""

    def insert_tracking(self, tracking: Tracking) -> None:
        self.apply([], tracking)

    @abstractmethod
    def count_failure(self, position: int) -> int:
        """Count one more failed attempt at `position`; the total so far."""


class ParkingLot(Protocol):
    """Where a projector parks the events it cannot handle, and counts its failures."""

    def count_failure(self, position: int) -> int: ...

    def park(self, entry: dict[str, Any], tracking: Tracking) -> None:
        """Record `entry` and advance the position past the parked event."""


def process_or_park(
    domain_event: Any,
    tracking: Tracking,
    evolve: Callable[[Any], Any],
    apply: Callable[[Any, Tracking], None],
    parking: ParkingLot,
) -> None:
    """Apply the event's effect. An unreadable event is parked at once; an event the
    projector fails on is retried (the runner restarts with backoff) and, after
    MAX_ATTEMPTS, parked: recorded with its position and error, shown by `projections
    status`, never skipped silently, and the runner goes on."""
    if isinstance(domain_event, UnreadableEvent):
        parking.park(parked_entry(domain_event, tracking, ValueError(domain_event.error)), tracking)
        return
    try:
        effect = evolve(domain_event)
    except Exception as error:
        if parking.count_failure(tracking.notification_id) < MAX_ATTEMPTS:
            raise
        parking.park(parked_entry(domain_event, tracking, error), tracking)
        return
    apply(effect, tracking)


def parked_entry(domain_event: Any, tracking: Tracking, error: Exception) -> dict[str, Any]:
    log.error(
        "parking event at position %s (%s): %s",
        tracking.notification_id,
        type(domain_event).__qualname__,
        error,
    )
    return {
        "position": tracking.notification_id,
        "type": getattr(domain_event, "topic", type(domain_event).__qualname__),
        "error": f"{type(error).__name__}: {error}",
    }


class DocumentProjection(Projection[DocumentView]):
    """A projection whose effect for each event is a list of `Change`s.

    Subclasses register `evolve` implementations per event class; events they do not know
    still advance the position, so the view's position is always the log position. Parked
    events go to the view's `parked` list, in the same atomic write as the position.
    """

    def process_event(self, domain_event: Any, tracking: Tracking) -> None:
        process_or_park(domain_event, tracking, self.evolve, self.view.apply, self)

    def count_failure(self, position: int) -> int:
        return self.view.count_failure(position)

    def park(self, entry: dict[str, Any], tracking: Tracking) -> None:
        self.view.apply([Append(PARKED, entry)], tracking)

    @singledispatchmethod
    def evolve(self, domain_event: Any) -> list[Change]:
        return []
