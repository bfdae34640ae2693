"""The application's event store: one log for every aggregate (`domain/registry.py`).

Every aggregate is recorded in the same PostgreSQL table (named after `EventStoreApp.name`),
so the log has one order that projections, the saga, replay and the audit chain all follow.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import AbstractContextManager as ContextManager
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from typing import Any, TypeVar, cast, overload
from uuid import UUID

from eventsourcing.application import (
    AggregateNotFoundError,
    Application,
    LRUCache,
    ProcessingEvent,
    Repository,
)
from eventsourcing.persistence import (
    IntegrityError,
    JSONTranscoder,
    Mapper,
    Recording,
    StoredEvent,
    Transcoder,
    Transcoding,
)
from eventsourcing.utils import Environment

from application.errors import VersionConflictError
from application.keys import (
    KeyStore,
    PersonalDataAsCiphertext,
    SecretAsCiphertext,
    key_service_failure,
    key_store_from,
)
from application.read_mapper import ReadMapper
from application.transcoder import OrjsonTranscoder
from application.write_path import LeanProcessingEvent, LeanRepository, project_aggregate
from domain.base import EcoAggregate, NotFoundError, UnreadableEvent
from domain.money import Money
from domain.order import OrderLine, PaymentMethod
from domain.product import Certification, SustainabilityProfile, Variant
from domain.product_media import ProductImage
from domain.returns import ReturnLine
from domain.shipping import RatesTable, ShippingOption
from domain.stock_item import StockItem, Sustainability

log = logging.getLogger(__name__)
A = TypeVar("A", bound=EcoAggregate)
R = TypeVar("R")

APP_NAME = "EcoVarejo"
SNAPSHOT_EVERY = 200  # events of one stock item between snapshots


class MoneyAsDict(Transcoding):
    type = Money
    name = "money"

    def encode(self, obj: Money) -> dict[str, str]:
        return obj.to_dict()

    def decode(self, data: dict[str, str]) -> Money:
        return Money.from_dict(data)


class OrderLineAsDict(Transcoding):
    type = OrderLine
    name = "order_line"

    def encode(self, obj: OrderLine) -> dict[str, Any]:
        return obj.to_dict()

    def decode(self, data: dict[str, Any]) -> OrderLine:
        return OrderLine.from_dict(data)


class PaymentMethodAsDict(Transcoding):
    type = PaymentMethod
    name = "payment_method"

    def encode(self, obj: PaymentMethod) -> dict[str, Any]:
        return obj.to_dict()

    def decode(self, data: dict[str, Any]) -> PaymentMethod:
        return PaymentMethod.from_dict(data)


class RatesTableAsDict(Transcoding):
    type = RatesTable
    name = "rates_table"

    def encode(self, obj: RatesTable) -> dict[str, Any]:
        return obj.to_dict()

    def decode(self, data: dict[str, Any]) -> RatesTable:
        return RatesTable.from_dict(data)


class ProductImageAsDict(Transcoding):
    type = ProductImage
    name = "product_image"

    def encode(self, obj: ProductImage) -> dict[str, Any]:
        return obj.to_dict()

    def decode(self, data: dict[str, Any]) -> ProductImage:
        return ProductImage.from_dict(data)


class ReturnLineAsDict(Transcoding):
    type = ReturnLine
    name = "return_line"

    def encode(self, obj: ReturnLine) -> dict[str, Any]:
        return obj.to_dict()

    def decode(self, data: dict[str, Any]) -> ReturnLine:
        return ReturnLine.from_dict(data)


class ShippingOptionAsDict(Transcoding):
    type = ShippingOption
    name = "shipping_option"

    def encode(self, obj: ShippingOption) -> dict[str, Any]:
        return obj.to_dict()

    def decode(self, data: dict[str, Any]) -> ShippingOption:
        return ShippingOption.from_dict(data)


class SustainabilityAsDict(Transcoding):
    type = Sustainability
    name = "sustainability"

    def encode(self, obj: Sustainability) -> dict[str, Any]:
        return obj.to_dict()

    def decode(self, data: dict[str, Any]) -> Sustainability:
        return Sustainability.of(data)


class VariantAsDict(Transcoding):
    type = Variant
    name = "variant"

    def encode(self, obj: Variant) -> dict[str, Any]:
        return obj.to_dict()

    def decode(self, data: dict[str, Any]) -> Variant:
        return Variant.from_dict(data)


class SustainabilityProfileAsDict(Transcoding):
    type = SustainabilityProfile
    name = "sustainability_profile"

    def encode(self, obj: SustainabilityProfile) -> dict[str, Any]:
        return obj.to_dict()

    def decode(self, data: dict[str, Any]) -> SustainabilityProfile:
        return SustainabilityProfile.from_dict(data)


class CertificationAsDict(Transcoding):
    type = Certification
    name = "certification"

    def encode(self, obj: Certification) -> dict[str, Any]:
        return obj.to_dict()

    def decode(self, data: dict[str, Any]) -> Certification:
        return Certification.from_dict(data)


VALUE_TRANSCODINGS: tuple[Transcoding, ...] = (
    VariantAsDict(),
    SustainabilityProfileAsDict(),
    CertificationAsDict(),
    SustainabilityAsDict(),
    ReturnLineAsDict(),
    MoneyAsDict(),
    OrderLineAsDict(),
    PaymentMethodAsDict(),
    RatesTableAsDict(),
    ProductImageAsDict(),
    ShippingOptionAsDict(),
)


class StockItemCache(LRUCache[UUID, Any]):
    """Caches stock items only. They are the hot aggregates (every receipt, reservation and
    release lands on one) and hold no personal data; an order cached decrypted would keep
    its address after an erasure, so orders, carts and payments are always read afresh."""

    @staticmethod
    def keeps(value: Any) -> bool:
        return isinstance(value, StockItem)

    def holds(self, key: UUID) -> bool:
        return key in self.cache

    def peek(self, key: UUID) -> Any | None:
        """The cached copy, if any, to be read only (its version, for a read ahead):
        neither moved in the LRU order nor copied."""
        link = self.cache.get(key)
        return None if link is None else link[self.RESULT]

    def put(self, key: UUID, value: Any) -> Any | None:
        if self.keeps(value):
            return super().put(key, value)
        return None


# Events one load of an aggregate that is never snapshotted reads at most; an id with more
# (another kind's: a stock item named where an order was expected) is read the library's
# way, from its latest snapshot.
UNSNAPSHOTTED_READ_LIMIT = 1_000


class CacheNotTrusted(Exception):
    """A command in a `trusting_cache` block may have decided on a stale cached copy: it
    committed nothing and is run again with every load asking the log."""


class TrustedLoads:
    """One command's loads of cached stock items taken without the fast-forward read (its
    round trip): the cached copy's version per aggregate, until an append of that aggregate
    checks it. The log's key (originator id, version) is the check: an append that
    follows a stale copy's version collides with the event the copy missed."""

    __slots__ = ("committed", "unverified", "used")

    def __init__(self) -> None:
        self.unverified: dict[UUID, int] = {}
        self.used = False  # a load trusted the cache (the outcome may rest on it)
        self.committed = False  # the command's events are in the log: never run it again

    def check(self, processing_event: ProcessingEvent[UUID]) -> None:
        """Before an append: every trusted copy must be appended to, at the version after
        it (else the decision could rest on a copy nobody checks)."""
        if not self.unverified:
            return
        first: dict[UUID, int] = {}
        for event in processing_event.events:
            first.setdefault(event.originator_id, event.originator_version)
        for aggregate_id, version in self.unverified.items():
            if first.get(aggregate_id) != version + 1:
                raise CacheNotTrusted(aggregate_id)


class EcoRepository(LeanRepository):
    """The repository every application loads with: `LeanRepository` (no deep copy of an
    aggregate the cache does not keep, a command's events advancing the cached stock item)
    plus `get_unsnapshotted`, a load without the read of the snapshot table for the kinds
    no snapshot is ever taken of (which `EventStore.load` uses for them): one round trip
    less per load of an order, a payment, a cart or a data subject.

    `prefetched(...)`: the events of the aggregates a step is about to load, read in one
    round trip (the recorder's `select_events_after`); each load inside the block takes its
    aggregate's from there, once, instead of a round trip of its own. Nothing outlives the
    block (no aggregate, and no personal data, is kept past it), and it is per thread."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._prefetch = threading.local()
        self._trusted = threading.local()  # the thread's `TrustedLoads`, in `trusting_cache`

    @contextmanager
    def trusting_cache(self) -> Iterator[TrustedLoads | None]:
        """A block whose loads of cached stock items do not ask the log for newer events
        (`TrustedLoads`); None (loads as usual) without a cache or inside another block."""
        if not self.cache or getattr(self._trusted, "loads", None) is not None:
            yield None
            return
        loads = self._trusted.loads = TrustedLoads()
        try:
            yield loads
        finally:
            self._trusted.loads = None

    def trusted_loads(self) -> TrustedLoads | None:
        """The thread's block of trusted loads, if it is in one."""
        return getattr(self._trusted, "loads", None)

    @contextmanager
    def prefetched(self, whole: Iterable[UUID] = (), cached: Iterable[UUID] = ()) -> Iterator[None]:
        """Read at once the events of `whole` (aggregates never snapshotted: all their
        events) and those of `cached` that the cache holds (the events after its copy);
        loads in the block use them. Fewer than two to read: nothing is read ahead."""
        after = {aggregate_id: 0 for aggregate_id in whole}
        cache = self.cache
        if isinstance(cache, StockItemCache):
            for aggregate_id in cached:
                copy = cache.peek(aggregate_id)
                if copy is not None:
                    after[aggregate_id] = copy.version
        select = getattr(self.event_store.recorder, "select_events_after", None)
        if select is None or len(after) < 2 or getattr(self._prefetch, "events", None):
            yield  # one round trip either way, or a block inside another: loads read
            return
        found = select(list(after.items()))
        self._prefetch.events = {oid: (after[oid], found.get(oid, [])) for oid in after}
        try:
            yield
        finally:
            self._prefetch.events = None

    def _prefetched(self, aggregate_id: UUID, version: int) -> list[Any] | None:
        """The prefetched events after `version`, if the block read them from there or
        before (taken: a second load of the same aggregate reads afresh)."""
        events = getattr(self._prefetch, "events", None)
        if not events:
            return None
        entry = events.get(aggregate_id)
        if entry is None or entry[0] > version:
            return None
        del events[aggregate_id]
        mapper = self.event_store.mapper
        return [mapper.to_domain_event(s) for s in entry[1] if s.originator_version > version]

    def events_after(self, aggregate_id: Any, version: int) -> Iterable[Any]:
        prefetched = self._prefetched(aggregate_id, version)
        if prefetched is not None:
            return prefetched
        trusted = getattr(self._trusted, "loads", None)
        if trusted is not None:  # the cached copy as it is: its append will check it
            trusted.unverified.setdefault(aggregate_id, version)
            trusted.used = True
            return ()
        return super().events_after(aggregate_id, version)

    def get_unsnapshotted(self, aggregate_id: Any) -> Any:
        """The aggregate from its events alone, without asking the snapshot table: for the
        kinds never snapshotted (the caller knows the kind it expects). Anything else found
        (a stock item, or an id with a long history) is loaded with `get`."""
        cache = self.cache
        if isinstance(cache, StockItemCache) and cache.holds(aggregate_id):
            return self.get(aggregate_id)
        events = self._prefetched(aggregate_id, 0)
        if events is None:
            events = list(
                self.event_store.get(originator_id=aggregate_id, limit=UNSNAPSHOTTED_READ_LIMIT)
            )
        if len(events) >= UNSNAPSHOTTED_READ_LIMIT:
            return self.get(aggregate_id)
        aggregate = project_aggregate(None, events)
        if aggregate is None:
            raise AggregateNotFoundError(f"Aggregate {aggregate_id!r} not found.")
        if self.keeps(aggregate):
            return self.get(aggregate_id)  # a stock item: through the cache, as always
        return aggregate


class EventStoreApp(Application[UUID]):
    """Base of every application that reads or writes the EcoVarejo log."""

    name = APP_NAME
    # Snapshots for stock items only: they are the hot, long-lived aggregates (an event per
    # receipt, reservation, release) and hold no personal data. Never orders, carts or
    # payments: a snapshot of an order would hold its personal data outside the events whose
    # keys an erasure destroys.
    snapshotting_intervals = {StockItem: SNAPSHOT_EVERY}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls.name = APP_NAME  # every subclass reads and writes the one log

    def construct_repository(self) -> Repository[UUID]:
        library = super().construct_repository()
        # Fast-forwarded on every get (new events are read), and deep-copied out: a cached
        # stock item is never stale and a failed command cannot corrupt it. Replays with
        # the protocol checks asked once per class (application/write_path.py).
        repository = EcoRepository(
            library.event_store,
            snapshot_store=library.snapshot_store,
            fastforward=True,
            fastforward_skipping=library.fastforward_skipping,
            deepcopy_from_cache=True,
        )
        repository.cache = StockItemCache(maxsize=10_000)
        return repository

    def get_aggregate_of(self, kind: type, aggregate_id: UUID) -> Any:
        """The aggregate with that id, `kind` being what the caller expects (it may be
        another): read without the snapshot table when no aggregate of `kind` is ever
        snapshotted. Raises `AggregateNotFoundError` as `repository.get` does."""
        repository = self.repository
        if isinstance(repository, EcoRepository) and not self._snapshotted(kind):
            return repository.get_unsnapshotted(aggregate_id)
        return repository.get(aggregate_id)

    def reading(self, whole: Iterable[UUID], cached: Iterable[UUID] = ()) -> ContextManager[None]:
        """A block whose loads of `whole` (aggregates never snapshotted: all their events)
        and of the cached stock items `cached` are read in one round trip
        (`EcoRepository.prefetched`; fewer than two to read: each load reads as usual)."""
        repository = self.repository
        if isinstance(repository, EcoRepository):
            return repository.prefetched(whole, cached)
        return nullcontext()

    def _snapshotted(self, kind: type) -> bool:
        """Whether an aggregate loaded as `kind` may have snapshots (a stock item, or a
        base class of one)."""
        return self.snapshots is not None and any(
            issubclass(snapshotted, kind) or issubclass(kind, snapshotted)
            for snapshotted in self.snapshotting_intervals
        )

    def save(self, *objs: Any, **kwargs: Any) -> list[Recording[UUID]]:
        """The library's `save`, collecting with the protocol checks asked once per class
        (application/write_path.py)."""
        processing_event = LeanProcessingEvent()
        processing_event.collect_events(*objs, **kwargs)
        trusted = self._trusted_loads()
        if trusted is None:
            recordings = self._record(processing_event)
        else:
            recordings = self._record_trusted(processing_event, trusted)
        self._advance_cached(processing_event)
        self._take_snapshots(processing_event)
        self._notify(recordings)
        self.notify(processing_event.events)  # the library's deprecated hook, as it does
        return recordings

    def _trusted_loads(self) -> TrustedLoads | None:
        repository = self.repository
        return repository.trusted_loads() if isinstance(repository, EcoRepository) else None

    def _record_trusted(
        self, processing_event: ProcessingEvent[UUID], trusted: TrustedLoads
    ) -> list[Recording[UUID]]:
        """`_record` in a `trusting_cache` block: refused if a trusted copy is not appended
        to; a version conflict after a trusted load may be the copy's staleness, not the
        command's, so the command runs again asking the log (`CacheNotTrusted`)."""
        trusted.check(processing_event)
        try:
            recordings = self._record(processing_event)
        except IntegrityError:
            if not trusted.used:
                raise
            raise CacheNotTrusted from None
        trusted.committed = True
        trusted.unverified.clear()
        return recordings

    def with_trusted_cache(self, command: Callable[[], R]) -> R:
        """Run a command whose loads of cached stock items skip the fast-forward read (one
        round trip of two), each copy checked by its own append instead (`TrustedLoads`).
        If a trusted copy was stale, or the command failed, or returned without appending
        to every copy it trusted, and committed nothing, it runs again as usual: every
        load asks the log, and its outcome (a conflict, a domain error) is the command's.
        For commands that load, change and commit (nothing else done before the commit)."""
        repository = self.repository
        if not isinstance(repository, EcoRepository):
            return command()
        with repository.trusting_cache() as trusted:
            if trusted is None:
                return command()
            try:
                result = command()
            except CacheNotTrusted:
                if trusted.committed:  # a second commit of the command's: not run again
                    raise VersionConflictError("changed concurrently; retry") from None
            except Exception:
                if trusted.committed or not trusted.used:
                    raise
            else:
                if trusted.committed or not trusted.unverified:
                    return result
        return command()

    def _advance_cached(self, processing_event: ProcessingEvent[UUID]) -> None:
        """The committed events applied to the cached aggregates they follow, so the next
        load reads no row for them (`LeanRepository.advance`). Best effort: the events
        are committed, and a cache that missed them fast-forwards on its next load."""
        repository = self.repository
        if not isinstance(repository, LeanRepository) or not repository.cache:
            return
        for aggregate_id, aggregate in processing_event.aggregates.items():
            if not repository.keeps(aggregate):
                continue
            events = [e for e in processing_event.events if e.originator_id == aggregate_id]
            try:
                repository.advance(aggregate_id, events)
            except Exception:
                log.warning("cached %s not advanced", aggregate_id, exc_info=True)

    def _take_snapshots(self, processing_event: ProcessingEvent[UUID]) -> None:
        # The command's events are committed already: a failed snapshot only means the next
        # cold read replays a little more, never that the command failed.
        try:
            self._snapshot_saved_stock_items(processing_event)
        except Exception:
            log.warning("could not take a snapshot", exc_info=True)

    def _snapshot_saved_stock_items(self, processing_event: ProcessingEvent[UUID]) -> None:
        """A stock item whose new version is a multiple of the interval is snapshotted as
        it is in memory, right after its save (the library would read it back from the
        store first: its last snapshot plus up to 199 events, every 200th command)."""
        if self.snapshots is None:
            return
        for event in processing_event.events:
            aggregate = processing_event.aggregates.get(event.originator_id)
            if not isinstance(aggregate, StockItem) or event.originator_version % SNAPSHOT_EVERY:
                continue
            if aggregate.version == event.originator_version:
                self.snapshots.put([StockItem.Snapshot.take(aggregate)])
            else:  # an earlier event of this save: that version is read back
                self.take_snapshot(event.originator_id, version=event.originator_version)

    def construct_transcoder(self) -> Transcoder:
        """The library's JSON transcoding, decoded with orjson (application/transcoder.py),
        unless the environment names another transcoder (`TRANSCODER_TOPIC`)."""
        if self.env.get("TRANSCODER_TOPIC"):
            return super().construct_transcoder()
        transcoder = OrjsonTranscoder()
        self.register_transcodings(transcoder)
        return transcoder

    def register_transcodings(self, transcoder: JSONTranscoder) -> None:
        super().register_transcodings(transcoder)
        for transcoding in VALUE_TRANSCODINGS:
            transcoder.register(transcoding)
        if self.env.get("KEY_STORE_TOPIC"):
            env = cast(Environment, self.env)
            transcoder.register(PersonalDataAsCiphertext(key_store_from(env)))
            transcoder.register(SecretAsCiphertext(key_store_from(env)))  # account secrets


class TolerantMapper(ReadMapper):
    """Maps what it can; an event it cannot read becomes an `UnreadableEvent` for the
    follower to park, instead of an exception that would stop the follower for good. An
    unavailable key service is not the event's fault: that error propagates, and the
    runner's supervisor retries the same event after a backoff."""

    def to_domain_event(self, stored_event: StoredEvent) -> Any:
        try:
            return super().to_domain_event(stored_event)
        except Exception as error:
            topic, originator_id = stored_event.topic, stored_event.originator_id
            return self._unreadable(topic, originator_id, stored_event.originator_version, error)

    def event_of_row(
        self, topic: str, originator_id: UUID | str, originator_version: int, state: bytes
    ) -> Any:
        try:
            return super().event_of_row(topic, originator_id, originator_version, state)
        except Exception as error:
            return self._unreadable(topic, originator_id, originator_version, error)

    @staticmethod
    def _unreadable(
        topic: str, originator_id: UUID | str, originator_version: int, error: Exception
    ) -> UnreadableEvent:
        if key_service_failure(error) is not None:
            raise error  # the KMS is down: a transient failure, retried (the event is not bad)
        return UnreadableEvent(
            originator_id, originator_version, topic, f"{type(error).__name__}: {error}"
        )


class LogFollower(EventStoreApp):
    """The application read-model runners follow: reads the log, tolerates bad events."""

    def construct_mapper(self) -> Mapper[UUID]:
        return self.factory.mapper(
            transcoder=self.construct_transcoder(), mapper_class=TolerantMapper
        )


@dataclass(frozen=True)
class CommandResult:
    """What a command tells its caller: the aggregate's new version and the log position
    its last event took, which is the consistency token of read-your-writes."""

    aggregate_id: UUID
    version: int
    position: int

    @property
    def consistency_token(self) -> str:
        return str(self.position)


def result_of(aggregate: Any, recordings: list[Recording[UUID]]) -> CommandResult:
    position = max((r.notification.id for r in recordings), default=0)
    return CommandResult(aggregate.id, aggregate.version, position)


class EventStore(EventStoreApp):
    """The one event-store object every service works over: the single log, one way to
    load an aggregate (`load`), the client's version check and the commit. Services
    (application/services.py) hold it; they never subclass it."""

    @overload
    def load(
        self, kind: type[A], aggregate_id: UUID, missing: None = None, *, owner: str | None = None
    ) -> A | None: ...

    @overload
    def load(
        self, kind: type[A], aggregate_id: UUID, missing: NotFoundError, *, owner: str | None = None
    ) -> A: ...

    def load(
        self,
        kind: type[A],
        aggregate_id: UUID,
        missing: NotFoundError | None = None,
        *,
        owner: str | None = None,
    ) -> A | None:
        """The aggregate of `kind` with that id. Not there (never created, another kind,
        or, with `owner`, another customer's): `missing` is raised, or None returned when
        no error is given. Someone else's aggregate reads exactly like one that does not
        exist."""
        try:
            found: Any = self.get_aggregate_of(kind, aggregate_id)
        except AggregateNotFoundError:
            found = None
        if not isinstance(found, kind) or (
            owner is not None and getattr(found, "customer_id", None) != owner
        ):
            if missing is not None:
                raise missing from None
            return None
        return found

    @staticmethod
    def check_version(aggregate: EcoAggregate | None, expected_version: int | None) -> None:
        """The client's If-Match against the aggregate (one not yet created is version 0)."""
        version = 0 if aggregate is None else aggregate.version
        if expected_version is not None and version != expected_version:
            raise VersionConflictError(f"version is {version}, not {expected_version} (If-Match)")

    def commit(self, primary: EcoAggregate, *others: EcoAggregate) -> CommandResult:
        """Save `primary` and `others` in one transaction; report on `primary`."""
        try:
            recordings = self.save(primary, *others)
        except IntegrityError:
            raise VersionConflictError(
                f"{type(primary).__name__} {primary.id} was changed concurrently; retry"
            ) from None
        return result_of(primary, recordings)

    @property
    def keys(self) -> KeyStore:
        """The key store the personal-data transcodings use (the subjects' data keys)."""
        return key_store_from(cast(Environment, self.env))
