"""The command's own path through the library, without what it recomputes per command.

Profiled (bench/README.md, issue 24's write path), a stock receipt spent ~45 µs of its
~0.45 ms of process CPU in three `isinstance` checks against the library's runtime
`Protocol`s (`typing` walks every protocol attribute of the class, each time): two per
saved aggregate in `ProcessingEvent.collect_events` and one per replayed event in
`project_aggregate`. The answers depend on the class (its methods and fields), so here
they are asked once per class; everything else is the library's own code path.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any
from uuid import UUID

from eventsourcing.application import ProcessingEvent, Repository
from eventsourcing.domain import (
    BaseAggregate,
    CanMutateProtocol,
    CollectEventsProtocol,
    DomainEventProtocol,
)
from eventsourcing.persistence import Tracking
from eventsourcing.projection import EventSourcedProjection

# Per aggregate class: (is it a domain event?, can it collect events?), the library's two
# questions. Only aggregate classes are kept: their answers cannot differ between
# instances (methods and properties of the class); any other object is asked each time.
_SAVED_KINDS: dict[type, tuple[bool, bool]] = {}
# Event classes whose instances the library's `CanMutateProtocol` accepts (`mutate` is a
# method of the class, the other attributes fields of every instance).
_MUTATING: set[type] = set()


def _kind_of(obj: Any) -> tuple[bool, bool]:
    cls = type(obj)
    kind = _SAVED_KINDS.get(cls)
    if kind is None:
        kind = (isinstance(obj, DomainEventProtocol), isinstance(obj, CollectEventsProtocol))
        if isinstance(obj, BaseAggregate):
            _SAVED_KINDS[cls] = kind
    return kind


class LeanProcessingEvent(ProcessingEvent[Any]):
    """`ProcessingEvent` whose `collect_events` asks the protocol checks once per class."""

    def collect_events(self, *objs: Any, **kwargs: Any) -> None:
        for obj in objs:
            if obj is None:
                continue
            is_event, collects = _kind_of(obj)
            if is_event:
                self.events.append(obj)
                continue
            if collects:
                self.events.extend(obj.collect_events())
            self.aggregates[obj.id] = obj
        self.saved_kwargs.update(kwargs)


def project_aggregate(aggregate: Any, domain_events: Iterable[Any]) -> Any:
    """The library's `project_aggregate`, its protocol assertion asked once per class."""
    for domain_event in domain_events:
        cls = type(domain_event)
        if cls not in _MUTATING:
            assert isinstance(domain_event, CanMutateProtocol)
            _MUTATING.add(cls)
        aggregate = domain_event.mutate(aggregate)
    return aggregate


class LeanRepository(Repository[Any]):
    """The library's repository, replaying with the `project_aggregate` above unless the
    caller names another projector."""

    def get(self, aggregate_id: Any, **kwargs: Any) -> Any:
        kwargs.setdefault("projector_func", project_aggregate)
        return super().get(aggregate_id, **kwargs)


class LeanProjection(EventSourcedProjection[UUID]):
    """The library's `EventSourcedProjection` (the saga's base), its step collecting with
    `LeanProcessingEvent`; otherwise its `process_event` line for line."""

    def process_event(self, domain_event: Any, tracking: Tracking) -> None:
        processing_event = LeanProcessingEvent(tracking=tracking)
        self.policy(domain_event, processing_event)
        recordings = self._record(processing_event)
        self._take_snapshots(processing_event)
        self.notify(processing_event.events)
        self._notify(recordings)
