"""What a projector needs from its store: documents it can read, and an atomic write of
its changes together with the log position they came from.

A projector turns each event into a list of `Change`s; the view applies them and records
the position in one atomic step, so a crash never leaves a change without its position or
a position without its change.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from functools import singledispatchmethod
from typing import Any

from eventsourcing.persistence import Tracking, TrackingRecorder
from eventsourcing.projection import Projection


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


Change = Put | Delete | IndexAdd | IndexRemove


class DocumentView(TrackingRecorder, ABC):
    """A read-model store that records its tracking position atomically with its changes."""

    @abstractmethod
    def get(self, key: str) -> dict[str, Any] | None: ...

    @abstractmethod
    def apply(self, changes: list[Change], tracking: Tracking) -> None:
        """Apply `changes` and advance the position to `tracking`, atomically, once."""

    def insert_tracking(self, tracking: Tracking) -> None:
        self.apply([], tracking)


class DocumentProjection(Projection[DocumentView]):
    """A projection whose effect for each event is a list of `Change`s.

    Subclasses register `evolve` implementations per event class; events they do not know
    still advance the position, so the view's position is always the log position.
    """

    def process_event(self, domain_event: Any, tracking: Tracking) -> None:
        self.view.apply(self.evolve(domain_event), tracking)

    @singledispatchmethod
    def evolve(self, domain_event: Any) -> list[Change]:
        return []
