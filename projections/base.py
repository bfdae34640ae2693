"""What a projector needs from its store: documents it can read, and an atomic write of
its changes together with the log position they came from.

A projector turns each event into a list of `Change`s; the view applies them and records
the position in one atomic step, so a crash never leaves a change without its position or
a position without its change.
"""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from dataclasses import dataclass
from functools import singledispatchmethod
from typing import Any

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


class DocumentProjection(Projection[DocumentView]):
    """A projection whose effect for each event is a list of `Change`s.

    Subclasses register `evolve` implementations per event class; events they do not know
    still advance the position, so the view's position is always the log position.
    """

    def process_event(self, domain_event: Any, tracking: Tracking) -> None:
        """Apply the event's changes. An event the projector cannot handle is retried (the
        runner restarts with backoff) and, after MAX_ATTEMPTS, parked: recorded with its
        position and error in the view's `parked` list, visible in `projections status`."""
        if isinstance(domain_event, UnreadableEvent):
            error = ValueError(domain_event.error)
            self.view.apply([self.parked(domain_event, tracking, error)], tracking)
            return
        try:
            changes = self.evolve(domain_event)
        except Exception as error:
            if self.view.count_failure(tracking.notification_id) < MAX_ATTEMPTS:
                raise
            self.view.apply([self.parked(domain_event, tracking, error)], tracking)
            return
        self.view.apply(changes, tracking)

    @staticmethod
    def parked(domain_event: Any, tracking: Tracking, error: Exception) -> Append:
        log.error(
            "parking event at position %s (%s): %s",
            tracking.notification_id,
            type(domain_event).__qualname__,
            error,
        )
        return Append(
            PARKED,
            {
                "position": tracking.notification_id,
                "type": getattr(domain_event, "topic", type(domain_event).__qualname__),
                "error": f"{type(error).__name__}: {error}",
            },
        )

    @singledispatchmethod
    def evolve(self, domain_event: Any) -> list[Change]:
        return []
