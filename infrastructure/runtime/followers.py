"""The follower registry: every follower of the log, listed once.

A *read model* is a projector (`projections/*.py`) writing one store kind (Redis documents
or the product search index), positioned in its store, parking in `RedisParking`, and
rebuilt into a new generation. A *process* (the checkout saga, the effect dispatcher)
follows some topics and keeps its position in a PostgreSQL tracking table; it is not
rebuildable. The checkout saga is `SAGA_PARTITIONS` processes, `saga.p0` ...: one per
partition of the log by aggregate id (infrastructure/runtime/saga_partitions.py). A *runner* is the
unit a worker starts and stops and the unit of a lease: the four Redis read models share one
(one subscription, one decode per event: `FanOut`), the others have one each.

Bootstrap starts the runners, `projections status` / `/ready` / `/metrics` list the
followers, `projections rebuild` rebuilds read models: all from the tables below. Adding a
read model is one projector module plus one `ReadModel(...)` line.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, Protocol

import redis
from eventsourcing.persistence import InfrastructureFactory, TrackingRecorder
from eventsourcing.postgres import PostgresTrackingRecorder
from eventsourcing.projection import BaseProjectionRunner
from eventsourcing.utils import Environment, get_topic

from application.checkout.effects import EFFECT_EVENTS, PAYMENT_TIMEOUT, EffectDispatcher
from application.checkout.policy import CheckoutSaga
from application.event_store import APP_NAME, EventStore, LogFollower
from application.integration_events import PUBLIC_TOPICS
from application.keys import ReadModelSealer, key_store_from
from infrastructure.gateways.integration_publisher import NAME as INTEGRATION_EVENTS
from infrastructure.gateways.integration_publisher import make_runner as _integration_events_runner
from infrastructure.read_stores import redis_keys
from infrastructure.read_stores.redis_views import (
    RedisDocumentView,
    RedisParking,
    active_generation,
)
from infrastructure.runtime.deadlines import DeadlineSweeper, PostgresDeadlines
from infrastructure.runtime.fanout import FanOut, FanOutRunner
from infrastructure.runtime.feed import Follower
from infrastructure.runtime.live_batch import LiveBatch, prefixed
from infrastructure.runtime.saga_partitions import (
    SAGA_PARTITIONS,
    SagaPartitionRunner,
    partition_name,
    saga_partition_follower,
    tracking_name,
)
from projections.analytics import AnalyticsProjection
from projections.back_office import BackOfficeProjection
from projections.base import Batch, Projector, ReadStore
from projections.carts import CartsProjection
from projections.catalog import StockItemsProjection
from projections.orders import OrdersProjection
from projections.product_images import ProductImagesProjection
from projections.products import ProductsProjection
from projections.reviews import ReviewsProjection
from projections.search import SearchProjection

if TYPE_CHECKING:
    from infrastructure.settings import Settings
    from projections.search import SearchStore

EFFECT_TOPICS = tuple(get_topic(cls) for cls in EFFECT_EVENTS)
LIVE_BATCH = 500  # events per atomic write of a live read model, at most
# How often the effect dispatcher on the worker's feed writes its position (with its
# deadlines) while events keep coming: a transaction per effect event was ~3 per checkout.
EFFECTS_WRITE_EVERY_S = 0.5
# How long product search on the worker's feed may hold back a write of its position alone
# (a drain of events it indexes nothing for): a search consistency wait on such an event
# is answered this much later at most; search wrote ~4.9 such statements per checkout.
SEARCH_POSITION_EVERY_S = 0.1
# The documents a live runner keeps in memory between its writes (`LiveBatch`): public
# ones only, never a document with personal data in it (orders, carts, reviews, the
# analytics' customers and orders, the back office's customers, payments and returns).
KEPT_DOCUMENTS: dict[str, Callable[[str], bool]] = {
    StockItemsProjection.name: prefixed(),
    ProductsProjection.name: prefixed(),
    BackOfficeProjection.name: prefixed("product:", "product-id:"),
    # sales by day, category and product, and the catalog it counts under (not the
    # customers' rows, their consents or the orders)
    AnalyticsProjection.name: prefixed("catalog:", "item:", "sales:", "co2:category:", "product:"),
    SearchProjection.name: prefixed(),
}


class Resources(Protocol):
    """What runners and the read-side tools need from the wiring (`bootstrap.Container`)."""

    redis: redis.Redis
    search: SearchStore | None
    database_url: str
    settings: Settings

    @property
    def actors(self) -> Any: ...  # the effects' sender, in a process that runs effects

    @property
    def follower_env(self) -> dict[str, str]: ...


StoreKind = Literal["redis", "search"]


def with_sealer(projector: Projector, res: Resources) -> Projector:
    """A projector that keeps someone's words gets the sealer of the key store, so that
    they reach its read model only sealed under that person's key (issue 21)."""
    if hasattr(type(projector), "sealer"):
        env = Environment(EventStore.name, res.follower_env)  # its keys are ECOVAREJO_…
        projector.sealer = ReadModelSealer(key_store_from(env))  # type: ignore[attr-defined]
    return projector


@dataclass(frozen=True)
class ReadModel:
    """A rebuildable read model: `projector` writing a `store` kind, fed by `runner`."""

    name: str
    projector: type[Projector]
    store: StoreKind
    runner: str

    def active_generation(self, res: Resources) -> str:
        if self.store == "redis":
            return active_generation(res.redis, self.name)
        return _search(res).active_generation()

    def open(
        self, res: Resources, generation: str | None = None, *, live: bool = False
    ) -> ReadStore:
        """A generation (by default the active one). `live`: writes are refused once it is
        no longer the active generation (`GenerationMovedError`), for runners."""
        if self.store == "redis":
            announce = self.projector.announced
            return RedisDocumentView(
                res.redis, self.name, generation, follow_active=live, announce=announce
            )
        store = _search(res)
        return store.open(generation or store.active_generation(), follow_active=live)

    def parking(self, res: Resources, generation: str) -> RedisParking:
        return RedisParking(res.redis, self.name, generation)

    def projector_on(self, res: Resources, store: ReadStore) -> Projector:
        return with_sealer(self.projector(store, self.parking(res, store.generation)), res)

    def activate(self, res: Resources, generation: str) -> None:
        """Swap readers (and live runners) to `generation`, in one atomic step."""
        if self.store == "redis":
            res.redis.set(redis_keys.active_key(self.name), generation)
        else:
            _search(res).activate(generation)

    def generations(self, res: Resources) -> list[str]:
        if self.store == "search":
            return _search(res).generations()
        return sorted(
            {
                redis_keys.generation_of(k.decode())
                for k in res.redis.scan_iter(match=redis_keys.generations_pattern(self.name))
            }
        )

    def drop(self, res: Resources, generation: str) -> None:
        """Delete an inactive generation, its documents and its parked events."""
        if self.store == "search":
            _search(res).drop(generation)
            self.parking(res, generation).drop()
            return
        batch: list[bytes] = []
        for key in res.redis.scan_iter(
            match=redis_keys.generation_prefix(self.name, generation) + "*", count=1000
        ):
            batch.append(key)
            if len(batch) >= 1000:
                res.redis.delete(*batch)
                batch.clear()
        if batch:
            res.redis.delete(*batch)

    def available(self, res: Resources) -> bool:
        return self.store == "redis" or res.search is not None


@dataclass(frozen=True)
class Process:
    """A follower with effects outside the read side; its position is `table`'s (its row
    `tracking`, when it shares the table; `partition` (k, n): the events it follows are
    those of partition k of n)."""

    name: str
    table: str
    topics: tuple[str, ...]
    runner: str
    tracking: str | None = None
    partition: tuple[int, int] | None = None


@dataclass(frozen=True)
class Runner:
    """The unit a worker starts and stops (and that a lease would own): `make` builds the
    library runner for `followers`; a supervisor restarts it when it fails. `feed`, when
    given, builds the same follower for the worker's one feed (infrastructure/runtime/feed.py),
    which a worker uses instead of `make`'s own subscription."""

    name: str
    followers: tuple[str, ...]
    make: Callable[[Resources], BaseProjectionRunner[Any]]
    feed: Callable[[Resources], Follower] | None = None


def _search(res: Resources) -> SearchStore:
    if res.search is None:
        raise LookupError("product search is not configured")
    return res.search


# --- runners -------------------------------------------------------------------------------


def live_batch(model: ReadModel, res: Resources) -> Batch:
    """A live runner's batch of `model`'s active generation: one that keeps public
    documents in memory between writes (`KEPT_DOCUMENTS`), else a plain one."""
    keeps = KEPT_DOCUMENTS.get(model.name)
    store = model.open(res, live=True)
    if keeps is None:
        return Batch(store, LIVE_BATCH)
    return LiveBatch(store, LIVE_BATCH, keeps)


def _read_models_runner(res: Resources) -> BaseProjectionRunner[Any]:
    """One subscription for every Redis read model: each event decoded once, each model's
    changes written as one atomic batch per drained read of the log."""
    members = []
    for model in READ_MODELS.values():
        if model.runner == READ_MODELS_RUNNER:
            batch = live_batch(model, res)
            members.append((model.name, model.projector_on(res, batch), batch))
    fanout = FanOut(members)
    return FanOutRunner(fanout, application_class=LogFollower, env=res.follower_env)


def _single_runner(name: str) -> Callable[[Resources], BaseProjectionRunner[Any]]:
    def make(res: Resources) -> BaseProjectionRunner[Any]:
        model = READ_MODELS[name]
        batch = live_batch(model, res)
        fanout = FanOut([(name, model.projector_on(res, batch), batch)])
        return FanOutRunner(fanout, application_class=LogFollower, env=res.follower_env)

    return make


def effects_tracking(res: Resources) -> TrackingRecorder:
    factory = InfrastructureFactory.construct(Environment(EffectDispatcher.name, res.follower_env))
    return factory.tracking_recorder()


def _saga_runner(k: int) -> Callable[[Resources], BaseProjectionRunner[Any]]:
    def make(res: Resources) -> BaseProjectionRunner[Any]:
        return SagaPartitionRunner(k, env=res.follower_env)

    return make


def _effect_dispatcher(
    res: Resources,
) -> tuple[EffectDispatcher, TrackingRecorder, DeadlineSweeper | None]:
    """The one dispatcher of the effects table, on its own runner or on the worker's feed,
    with its deadlines' table and sweeper (infrastructure/runtime/deadlines.py) on
    PostgreSQL."""
    if res.actors is None:
        raise LookupError("the effect dispatcher needs the dramatiq actors (a worker)")
    tracking = effects_tracking(res)
    delays = {PAYMENT_TIMEOUT: res.settings.payment_timeout_s}
    features = res.settings.effect_features
    if not isinstance(tracking, PostgresTrackingRecorder):
        return EffectDispatcher(tracking, res.actors, delays, features), tracking, None
    book = PostgresDeadlines(tracking)
    write_every_s = EFFECTS_WRITE_EVERY_S if res.settings.shared_feed else 0.0
    dispatcher = EffectDispatcher(tracking, res.actors, delays, features, book, write_every_s)
    return dispatcher, tracking, DeadlineSweeper(book, res.actors)


class _EffectsRunner(BaseProjectionRunner[Any]):
    """The library's runner for the dispatcher, with its sweeper while it runs."""

    sweeper: DeadlineSweeper | None = None

    def __enter__(self) -> Any:
        runner = super().__enter__()
        if self.sweeper is not None:
            self.sweeper.start()
        return runner

    def __exit__(self, *args: Any) -> None:
        try:
            if self.sweeper is not None:
                self.sweeper.stop()
        finally:
            super().__exit__(*args)


def _effects_runner(res: Resources) -> BaseProjectionRunner[Any]:
    dispatcher, tracking, sweeper = _effect_dispatcher(res)
    runner = _EffectsRunner(
        projection=dispatcher,
        application_class=EventStore,
        tracking_recorder=tracking,
        topics=EFFECT_TOPICS,
        env=res.follower_env,
    )
    runner.sweeper = sweeper
    return runner


# --- the same followers, on the worker's one feed ------------------------------------------


def _fanout_follower(name: str, fanout: FanOut) -> Follower:
    def stop() -> None:
        """A position held back, written as far as this runner got (checked against the
        store's like any write; lost, a restart repeats events that change nothing)."""
        if fanout.defer_s > 0:
            with contextlib.suppress(Exception):
                fanout.flush(now=True)

    return Follower(
        name,
        fanout,
        lambda: fanout.view.max_tracking_id(APP_NAME) or 0,
        tolerant=True,  # parks what it cannot read
        exit=stop,
    )


def _read_models_follower(res: Resources) -> Follower:
    members = []
    for model in READ_MODELS.values():
        if model.runner == READ_MODELS_RUNNER:
            batch = live_batch(model, res)
            members.append((model.name, model.projector_on(res, batch), batch))
    return _fanout_follower(READ_MODELS_RUNNER, FanOut(members))


def _single_follower(name: str) -> Callable[[Resources], Follower]:
    def make(res: Resources) -> Follower:
        model = READ_MODELS[name]
        batch = live_batch(model, res)
        # Search's position alone (events of carts, orders, payments) waits for its next
        # change or SEARCH_POSITION_EVERY_S: the feed's runner calls in time (`FanOut`).
        defer = SEARCH_POSITION_EVERY_S if model.store == "search" else 0.0
        member = (name, model.projector_on(res, batch), batch)
        return _fanout_follower(name, FanOut([member], defer_s=defer))

    return make


def _saga_follower(k: int) -> Callable[[Resources], Follower]:
    def make(res: Resources) -> Follower:
        return saga_partition_follower(k, res.follower_env)

    return make


def _effects_follower(res: Resources) -> Follower:
    dispatcher, tracking, sweeper = _effect_dispatcher(res)

    def start() -> None:
        if sweeper is not None:
            sweeper.start()

    def stop() -> None:
        try:
            if sweeper is not None:
                sweeper.stop()
        finally:
            with contextlib.suppress(Exception):  # lost, the batch is read and sent again
                dispatcher.flush()

    return Follower(
        "effects",
        dispatcher,
        lambda: tracking.max_tracking_id(APP_NAME) or 0,
        topics=frozenset(EFFECT_TOPICS),
        enter=start,
        exit=stop,
    )


# --- the registry --------------------------------------------------------------------------

READ_MODELS_RUNNER = "read_models"

READ_MODELS: dict[str, ReadModel] = {
    m.name: m
    for m in (
        ReadModel(StockItemsProjection.name, StockItemsProjection, "redis", READ_MODELS_RUNNER),
        ReadModel(CartsProjection.name, CartsProjection, "redis", READ_MODELS_RUNNER),
        ReadModel(OrdersProjection.name, OrdersProjection, "redis", READ_MODELS_RUNNER),
        ReadModel(AnalyticsProjection.name, AnalyticsProjection, "redis", READ_MODELS_RUNNER),
        ReadModel(BackOfficeProjection.name, BackOfficeProjection, "redis", READ_MODELS_RUNNER),
        ReadModel(ReviewsProjection.name, ReviewsProjection, "redis", READ_MODELS_RUNNER),
        ReadModel(
            ProductImagesProjection.name, ProductImagesProjection, "redis", READ_MODELS_RUNNER
        ),
        ReadModel(ProductsProjection.name, ProductsProjection, "redis", READ_MODELS_RUNNER),
        ReadModel(SearchProjection.name, SearchProjection, "search", SearchProjection.name),
    )
}

PROCESSES: dict[str, Process] = {
    p.name: p
    for p in (
        *(
            Process(
                partition_name(k),
                "ecovarejo_tracking",
                tuple(CheckoutSaga.topics),
                partition_name(k),
                tracking_name(k),
                (k, SAGA_PARTITIONS),
            )
            for k in range(SAGA_PARTITIONS)
        ),
        Process("effects", f"{EffectDispatcher.name.lower()}_tracking", EFFECT_TOPICS, "effects"),
        # Public integration events to RabbitMQ (infrastructure/gateways/integration_publisher.py),
        # only where ECOVAREJO_EVENTS_URL is set (`process_available`).
        Process(
            INTEGRATION_EVENTS, f"{INTEGRATION_EVENTS}_tracking", PUBLIC_TOPICS, INTEGRATION_EVENTS
        ),
    )
}

RUNNERS: dict[str, Runner] = {
    r.name: r
    for r in (
        Runner(
            READ_MODELS_RUNNER,
            tuple(n for n, m in READ_MODELS.items() if m.runner == READ_MODELS_RUNNER),
            _read_models_runner,
            _read_models_follower,
        ),
        Runner(
            SearchProjection.name,
            (SearchProjection.name,),
            _single_runner("product_search"),
            _single_follower("product_search"),
        ),
        *(
            Runner(partition_name(k), (partition_name(k),), _saga_runner(k), _saga_follower(k))
            for k in range(SAGA_PARTITIONS)
        ),
        Runner("effects", ("effects",), _effects_runner, _effects_follower),
        Runner(INTEGRATION_EVENTS, (INTEGRATION_EVENTS,), _integration_events_runner),
    )
}

REDIS_READ_MODELS = tuple(n for n, m in READ_MODELS.items() if m.store == "redis")
FOLLOWERS = (*READ_MODELS, *PROCESSES)


def runner_of(follower: str) -> str:
    """The runner that feeds `follower`."""
    found = READ_MODELS.get(follower) or PROCESSES.get(follower)
    if found is None:
        raise KeyError(follower)
    return found.runner


def runners_for(res: Resources) -> list[Runner]:
    """The runners this configuration can run (no search runner without a search store)."""
    return [
        r
        for r in RUNNERS.values()
        if all(READ_MODELS[f].available(res) for f in r.followers if f in READ_MODELS)
        and all(process_available(res, f) for f in r.followers)
    ]


def process_available(res: Resources, name: str) -> bool:
    """Whether this configuration runs the process `name` (the publisher needs a broker)."""
    return name != INTEGRATION_EVENTS or res.settings.events_url is not None
