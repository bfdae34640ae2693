"""The one read-side mechanism: what a projector needs from its store, how a batch of
events becomes one write, and how a failing event is parked.

A projector turns each event into a list of `Change`s. Its store (`ReadStore`: Redis
documents, the product search index, or the in-memory store of the tests) applies them and
records the log position they came from in one atomic step, so a crash never leaves a
change without its position or a position without its change, and a position at or below
the recorded one changes nothing. `Batch` gathers many events' changes into one such write.
A store belongs to a *generation*; once a rebuild has swapped in another, a live writer's
write is refused with `GenerationMovedError` and its runner restarts on the new one.
"""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from functools import singledispatchmethod
from typing import Any, Protocol

import orjson
from eventsourcing.persistence import Tracking, TrackingRecorder
from eventsourcing.projection import Projection

from domain.base import UnreadableEvent

log = logging.getLogger(__name__)

DEFAULT_GENERATION = "g1"
MAX_ATTEMPTS = 5
APPLICATION = "EcoVarejo"  # every follower follows the one log (application.event_store)


class GenerationMovedError(Exception):
    """A rebuild swapped the read model to a new generation: restart on it."""

    restart_after_s = 0.0  # at once: the new generation is there to be followed


class PositionMovedError(GenerationMovedError):
    """Someone else wrote this generation since the runner's last write (another worker
    after a lease's failover, a parked event's retry): what the runner holds in memory may
    be stale, so it restarts (as on a generation's move) and reads again."""

    # Not at once: two workers that both believe they hold the lease would otherwise
    # refuse each other's writes in a tight loop until the lease settles.
    restart_after_s = 0.5


@dataclass(frozen=True)
class Put:
    """Store `doc` (a JSON document) under `key`."""

    key: str
    doc: dict[str, Any]


def put(key: str, doc: dict[str, Any]) -> Put:
    """`Put(key, doc)`, made as its frozen dataclass' `__init__` would but without its two
    `object.__setattr__` calls (a rebuild makes one or two per event)."""
    change = object.__new__(Put)
    change.__dict__.update(key=key, doc=doc)
    return change


class Derived(Put):
    """A `Put` whose document is made from another document (`source`, by `derive`) when
    it is first read: a batch that writes a key once for many events makes it once (the
    stock item's public document, which a rebuild writes once per 20,000-event batch).
    Stores read `doc` as any `Put`'s; `source` must not change after this is made (a
    projector's documents are new each event, and nested values are replaced, not changed
    in place)."""

    _source: dict[str, Any]
    _derive: Callable[[dict[str, Any]], dict[str, Any]]

    def __init__(
        self, key: str, source: dict[str, Any], derive: Callable[[dict[str, Any]], dict[str, Any]]
    ) -> None:
        # Set as the frozen dataclass sets its fields: past its refusing `__setattr__`.
        self.__dict__.update(key=key, _source=source, _derive=derive, _doc=None)

    @property  # a field of `Put`, made here when first read
    def doc(self) -> dict[str, Any]:
        doc: dict[str, Any] | None = self.__dict__["_doc"]
        if doc is None:
            doc = self.__dict__["_doc"] = self._derive(self._source)
        return doc


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
class Compact:
    """Once this write is in, rewrite what the store persisted (Redis' AOF and RDB files):
    the old copies of documents an erasure rewrote must not stay in them."""


Change = Put | Delete | IndexAdd | IndexRemove | Compact
# A tuple, built once: `isinstance(x, Put | Delete)` builds the union on every call (a
# rebuild makes two such checks per event).
_DOCUMENT_CHANGES = (Put, Delete)


class ReadStore(TrackingRecorder, ABC):
    """One generation of a read model, with its log position."""

    generation: str = DEFAULT_GENERATION

    @abstractmethod
    def get(self, key: str) -> dict[str, Any] | None: ...

    def peek(self, key: str) -> dict[str, Any] | None:
        """The document to read, NOT to change: a store may hand over the document it
        holds (a batch's pending one) instead of a copy. A projector that changes what it
        read takes `get`, or copies what it changes."""
        return self.get(key)

    @abstractmethod
    def apply(self, changes: list[Change], tracking: Tracking) -> None:
        """Apply `changes` and advance the position to `tracking`, atomically, once: a
        position at or below the recorded one changes nothing."""

    def insert_tracking(self, tracking: Tracking) -> None:
        self.apply([], tracking)

    def position(self) -> int:
        return self.max_tracking_id(APPLICATION) or 0


class Parking(Protocol):
    """Where a projector counts its failures and parks the events it cannot handle."""

    def count_failure(self, position: int) -> int:
        """Count one more failed attempt at `position`; the total so far."""
        ...

    def park(self, entry: dict[str, Any]) -> None:
        """Record `entry` (keyed by its position: parking it again records it once)."""
        ...

    def parked(self) -> list[dict[str, Any]]: ...


class MemoryParking:
    """Parking in memory (tests, and rebuilds that only log)."""

    def __init__(self) -> None:
        self.failures: dict[int, int] = {}
        self.entries: dict[int, dict[str, Any]] = {}

    def count_failure(self, position: int) -> int:
        self.failures[position] = self.failures.get(position, 0) + 1
        return self.failures[position]

    def park(self, entry: dict[str, Any]) -> None:
        self.entries[entry["position"]] = entry

    def parked(self) -> list[dict[str, Any]]:
        return [self.entries[p] for p in sorted(self.entries)]


def process_or_park(
    domain_event: Any,
    tracking: Tracking,
    evolve: Callable[[Any], list[Change]],
    apply: Callable[[list[Change], Tracking], None],
    parking: Parking,
) -> None:
    """Apply the event's changes. An unreadable event is parked at once; an event the
    projector fails on is retried (the runner restarts with backoff) and, after
    MAX_ATTEMPTS, parked: recorded with its position and error, shown by `projections
    status`, never skipped silently; the position moves past it and the runner goes on."""
    if isinstance(domain_event, UnreadableEvent):
        parking.park(parked_entry(domain_event, tracking, ValueError(domain_event.error)))
        apply([], tracking)
        return
    try:
        changes = evolve(domain_event)
    except Exception as error:
        if parking.count_failure(tracking.notification_id) < MAX_ATTEMPTS:
            raise
        parking.park(parked_entry(domain_event, tracking, error))
        apply([], tracking)
        return
    apply(changes, tracking)


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


class Batch(ReadStore):
    """Many events' changes as one write of the store below: reads see the pending
    changes; `flush` applies them with the last position, atomically. A document written
    twice in a batch is written once, with its last value. With `fresh` (a new generation,
    which only this writer writes: rebuilds) every document stays in memory across
    flushes and a miss is a miss, so no read goes to the store."""

    def __init__(self, store: ReadStore, size: int = 500, *, fresh: bool = False):
        self.store = store
        self.generation = store.generation
        self.size = size
        self.fresh = fresh
        self._docs: dict[str, dict[str, Any] | Derived | None] = {}
        self._writes: dict[str, Put | Delete] = {}
        self._indexes: list[Change] = []
        self._position = 0
        self._events = 0
        self._recorded = store.max_tracking_id(APPLICATION) or 0

    def get(self, key: str) -> dict[str, Any] | None:
        if key in self._docs:
            return _copy(self.peek(key))
        return None if self.fresh else self.store.get(key)

    def peek(self, key: str) -> dict[str, Any] | None:
        # The pending document itself: no copy (a copy is ~2.5 us for a stock item's).
        if key in self._docs:
            doc = self._docs[key]
            return doc.doc if isinstance(doc, Derived) else doc
        return None if self.fresh else self.store.get(key)

    def apply(self, changes: list[Change], tracking: Tracking) -> None:
        position = tracking.notification_id
        if position <= self._position or position <= self._recorded:
            return  # applied already (a runner restarted behind this store)
        docs, writes = self._docs, self._writes
        for change in changes:
            document: Put | Delete
            # The two common kinds first, by type (no isinstance chain for them).
            if type(change) is Put:
                document = change
                docs[change.key] = change.doc
            elif type(change) is Derived:
                # A derived document is held as its `Derived`: made only when read or
                # written (a later change of the key in this batch may replace it first).
                document = change
                docs[change.key] = change
            elif isinstance(change, _DOCUMENT_CHANGES):
                document = change
                docs[change.key] = None if isinstance(change, Delete) else change.doc
            else:
                self._indexes.append(change)
                continue
            key = document.key
            writes.pop(key, None)  # re-inserted last: keeps write order
            writes[key] = document
        self._position = tracking.notification_id
        self._events += 1
        if self._events >= self.size:
            self.flush()

    @property
    def pending(self) -> int:
        return self._events

    def flush(self) -> None:
        write = self.pending_write()
        if write is not None:
            self.store.apply(*write)
        self.written()

    def pending_write(self) -> tuple[list[Change], Tracking] | None:
        """What `flush` would write (None: nothing), for a caller that writes several
        batches in one step (then `written`)."""
        if not self._events:
            return None
        return [*self._writes.values(), *self._indexes], Tracking(APPLICATION, self._position)

    def written(self) -> None:
        """The pending write is in the store: start the next batch."""
        if self._events:
            self._recorded = self._position
        if not self.fresh:
            self._docs.clear()
        self._writes.clear()
        self._indexes.clear()
        self._events = 0

    def max_tracking_id(self, application_name: str) -> int | None:
        return max(self._position, self._recorded) or None


def _copy(doc: dict[str, Any] | None) -> dict[str, Any] | None:
    """A deep copy of a JSON document (projectors change what they read): through orjson,
    ~10x faster than a recursive copy in Python."""
    if doc is None:
        return None
    copied: dict[str, Any] = orjson.loads(orjson.dumps(doc))
    return copied


class Projector(Projection[ReadStore]):
    """A projection whose effect for each event is a list of `Change`s on its store.

    Subclasses name themselves (`name`) and register `evolve` implementations per event
    class; events they do not know still advance the position, so the store's position is
    always the log position. Failing events go to `parking`."""

    name: str = ""
    # Key prefixes of documents clients wait on (`GET /orders/{id}?wait=`): a live Redis
    # view announces their writes on pub/sub (infrastructure/redis_views).
    announced: tuple[str, ...] = ()

    def __init__(self, view: ReadStore, parking: Parking | None = None):
        super().__init__(view)
        self.parking: Parking = parking if parking is not None else MemoryParking()
        # `evolve`'s implementation for each event class, found once: a call through
        # `singledispatchmethod` looks it up and binds it again every time (~0.7 us).
        self._handlers: dict[type, Callable[[Any], list[Change]]] = {}
        self._dispatch = _dispatcher_of(type(self))

    def process_event(self, domain_event: Any, tracking: Tracking) -> None:
        handler = self._handlers.get(domain_event.__class__)
        if handler is None:
            handler = self._handler(domain_event.__class__)
        process_or_park(domain_event, tracking, handler, self.view.apply, self.parking)

    def _handler(self, event_class: type) -> Callable[[Any], list[Change]]:
        if self._dispatch is None:  # `evolve` is a plain method here
            return self.evolve
        handler: Callable[[Any], list[Change]] = self._dispatch(event_class).__get__(self)
        self._handlers[event_class] = handler
        return handler

    @singledispatchmethod
    def evolve(self, domain_event: Any) -> list[Change]:
        return []


def _dispatcher_of(cls: type) -> Callable[[type], Any] | None:
    """The `dispatch` of `cls`'s `evolve` when it is a `singledispatchmethod`."""
    for klass in cls.__mro__:
        if "evolve" in vars(klass):
            method = vars(klass)["evolve"]
            return method.dispatcher.dispatch if isinstance(method, singledispatchmethod) else None
    return None


# The name the four Redis projectors and issue 13's code know.
DocumentProjection = Projector
DocumentView = ReadStore
