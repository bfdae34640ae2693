"""The command's own path through the library, without what it recomputes per command.

Profiled (bench/README.md, issue 24's write path), a stock receipt spent ~45 µs of its
~0.45 ms of process CPU in three `isinstance` checks against the library's runtime
`Protocol`s (`typing` walks every protocol attribute of the class, each time): two per
saved aggregate in `ProcessingEvent.collect_events` and one per replayed event in
`project_aggregate`. The answers depend on the class (its methods and fields), so here
they are asked once per class; everything else is the library's own code path.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from copy import deepcopy
from threading import Lock
from typing import Any
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError, ProcessingEvent, Repository
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
    caller names another projector, and with its cache path made lean and safe:

    - **One lock per cached aggregate's stripe** (`STRIPES` of them, by the id's hash)
      instead of the library's per-id locks kept in an LRU of locks with a use count
      (two dict updates and four `UUID.__hash__` per load). Two ids on one stripe only
      take turns at their fast-forwards.
    - **The copy handed to the command is made under that lock.** The library copies
      after releasing it, so another thread's fast-forward could mutate the cached
      aggregate in the middle of the copy (a copy with one event half applied).
    - **A cached aggregate is put in the cache as a copy and the loaded one returned**;
      an aggregate the cache does not keep (`keeps`: orders, carts, payments: never
      cached) is returned as reconstructed, not deep-copied for nothing.
    - **`advance`**: after a command's events are committed, they are applied to the
      cached aggregate (if it is at the version they follow), so the next load's
      fast-forward reads no row, and decodes and replays nothing. The events applied are
      the very objects the command's own copy applied (immutable values), under the lock.
    """

    STRIPES = 256

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._stripes = [Lock() for _ in range(self.STRIPES)]

    def _stripe(self, aggregate_id: Any) -> Lock:
        return self._stripes[hash(aggregate_id) % self.STRIPES]

    def keeps(self, aggregate: Any) -> bool:
        """Whether the cache holds aggregates of this kind (all, unless it says)."""
        keeps = getattr(self.cache, "keeps", None)
        return True if keeps is None else bool(keeps(aggregate))

    def get(
        self,
        aggregate_id: Any,
        *,
        version: int | None = None,
        projector_func: Any = project_aggregate,
        fastforward_skipping: bool = False,
        deepcopy_from_cache: bool = True,
    ) -> Any:
        if (
            not self.cache
            or version is not None
            or not self.fastforward
            or fastforward_skipping
            or self.fastforward_skipping
            or not (deepcopy_from_cache and self.deepcopy_from_cache)
        ):  # what the lean path does not cover: the library's own
            return super().get(
                aggregate_id,
                version=version,
                projector_func=projector_func,
                fastforward_skipping=fastforward_skipping,
                deepcopy_from_cache=deepcopy_from_cache,
            )
        with self._stripe(aggregate_id):
            try:
                cached = self.cache.get(aggregate_id)
            except KeyError:
                cached = None
            if cached is not None:
                new_events = self.events_after(aggregate_id, cached.version)
                try:
                    advanced = projector_func(cached, new_events)
                except Exception:  # never leave a half-applied aggregate in the cache
                    self.cache.get(aggregate_id, evict=True)
                    raise
                if advanced is None:
                    raise AggregateNotFoundError(aggregate_id)
                if advanced is not cached:
                    self.cache.put(aggregate_id, advanced)
                return deepcopy(advanced)
        aggregate = self._reconstruct_aggregate(aggregate_id, None, projector_func)
        if self.keeps(aggregate):
            with self._stripe(aggregate_id):
                self.cache.put(aggregate_id, deepcopy(aggregate))
        return aggregate

    def events_after(self, aggregate_id: Any, version: int) -> Iterable[Any]:
        """The aggregate's events after `version` (a cached copy's fast-forward)."""
        return self.event_store.get(originator_id=aggregate_id, gt=version)

    def advance(self, aggregate_id: Any, events: Sequence[Any]) -> None:
        """The committed `events` of one aggregate applied to its cached copy, if that is
        at the version they follow (otherwise its next load fast-forwards as usual)."""
        if not self.cache or not events:
            return
        with self._stripe(aggregate_id):
            try:
                cached = self.cache.get(aggregate_id)
            except KeyError:
                return
            if cached.version != events[0].originator_version - 1:
                return
            try:
                advanced = project_aggregate(cached, events)
            except Exception:  # never leave a half-applied aggregate in the cache
                self.cache.get(aggregate_id, evict=True)
                raise
            if advanced is not cached:
                self.cache.put(aggregate_id, advanced)


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
