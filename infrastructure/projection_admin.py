"""Operating the read side: status and lag of every follower, and zero-downtime rebuilds
of the Redis projections into a new generation."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

import psycopg
import redis
from eventsourcing.persistence import Tracking

from application.checkout.effects import EffectDispatcher
from application.checkout.policy import CheckoutSaga
from application.event_store import APP_NAME, LogFollower
from infrastructure.redis_views import (
    BufferedView,
    RedisDocumentView,
    RedisParkingLot,
    active_generation,
    active_key,
)
from infrastructure.runners import RunnerStatus
from projections.search import SearchIndex, SearchProjection, active_index

STATUS_TTL_S = 15


def status_key(name: str) -> str:
    return f"ev:status:{name}"


def publisher(client: redis.Redis) -> Callable[[RunnerStatus], None]:
    """Where supervisors publish their status, for any process to read."""

    def publish(status: RunnerStatus) -> None:
        client.set(status_key(status.name), json.dumps(status.as_dict()), ex=STATUS_TTL_S)

    return publish


def runner_status(client: redis.Redis, name: str) -> dict[str, Any]:
    raw = client.get(status_key(name))
    if raw is None:
        return {"state": "stopped", "failures": 0, "last_error": "no runner is publishing"}
    status: dict[str, Any] = json.loads(raw)
    return status


@dataclass(frozen=True)
class FollowerStatus:
    name: str
    kind: str  # read model | process
    generation: str | None
    position: int
    head: int
    lag: int  # events after the position that this follower still has to process
    state: str
    failures: int
    last_error: str | None
    parked: list[dict[str, Any]]

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _process_position(
    conn: psycopg.Connection[Any], table: str, topics: tuple[str, ...], head: int
) -> tuple[int, int]:
    row = conn.execute(f"SELECT max(notification_id) FROM {table}").fetchone()  # noqa: S608
    position = int(row[0]) if row and row[0] is not None else 0
    lag = conn.execute(
        "SELECT count(*) FROM ecovarejo_events WHERE notification_id > %s AND topic = ANY(%s)",
        (position, list(topics)),
    ).fetchone()
    return position, int(lag[0]) if lag else head - position


def statuses(container: Any) -> list[FollowerStatus]:
    """Every follower of the log: its position, the head, the lag, its runner's state."""
    from infrastructure.bootstrap import EFFECT_TOPICS, REDIS_PROJECTIONS

    head = container.head_position()
    found = []
    for name in REDIS_PROJECTIONS:
        view = container.view(name)
        position = view.max_tracking_id(APP_NAME) or 0
        runner = runner_status(container.redis, name)
        found.append(
            FollowerStatus(
                name,
                "read model",
                view.generation,
                position,
                head,
                head - position,
                runner["state"],
                runner["failures"],
                runner["last_error"],
                view.parked(),
            )
        )
    if container.search is not None:
        index = active_index(container.search)
        position = index.max_tracking_id(APP_NAME) or 0
        runner = runner_status(container.redis, SearchProjection.name)
        found.append(
            FollowerStatus(
                SearchProjection.name,
                "read model",
                container.search.active_generation(),
                position,
                head,
                head - position,
                runner["state"],
                runner["failures"],
                runner["last_error"],
                RedisParkingLot(container.redis, SearchProjection.name, index).parked(),
            )
        )
    with psycopg.connect(container.database_url) as conn:
        for name, table, topics in (
            ("saga", "ecovarejo_tracking", tuple(CheckoutSaga.topics)),
            ("effects", f"{EffectDispatcher.name.lower()}_tracking", EFFECT_TOPICS),
        ):
            position, lag = _process_position(conn, table, topics, head)
            runner = runner_status(container.redis, name)
            found.append(
                FollowerStatus(
                    name,
                    "process",
                    None,
                    position,
                    head,
                    lag,
                    runner["state"],
                    runner["failures"],
                    runner["last_error"],
                    [],
                )
            )
    return found


@dataclass(frozen=True)
class RebuildReport:
    projection: str
    generation: str
    previous_generation: str
    events: int
    seconds: float

    @property
    def events_per_s(self) -> float:
        return self.events / self.seconds if self.seconds else 0.0

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "events_per_s": round(self.events_per_s, 1)}


Progress = Callable[[int, int], None]  # (position, head)


def rebuild(
    container: Any, name: str, progress: Progress | None = None, batch: int = 1000
) -> RebuildReport:
    """Replay the whole log into a new generation of `name`, then swap it in atomically.
    Readers use the old generation until the swap; the live runner moves over by itself."""
    from infrastructure.bootstrap import REDIS_PROJECTIONS

    started = time.perf_counter()
    generation = f"g{time.time_ns()}"
    if name == SearchProjection.name:
        store = container.search
        previous = store.active_generation()
        index = BufferedSearchIndex(store.open(generation), batch)
        parking = RedisParkingLot(container.redis, name, index)
        events = _replay(container, SearchProjection(index, parking), index.flush, progress, batch)
        store.activate(generation)
        for old in store.generations():
            if old not in (generation, previous):
                store.drop(old)
    else:
        client: redis.Redis = container.redis
        previous = active_generation(client, name)
        view = RedisDocumentView(client, name, generation, follow_active=False)
        buffered = BufferedView(view, batch=batch, fresh=True)
        projection = REDIS_PROJECTIONS[name](buffered)
        events = _replay(container, projection, buffered.flush, progress, batch)
        client.set(active_key(name), generation)
        drop_generations(client, name, keep={generation, previous})
    return RebuildReport(name, generation, previous, events, time.perf_counter() - started)


def _replay(
    container: Any,
    projection: Any,
    flush: Callable[[], None],
    progress: Progress | None,
    batch: int,
) -> int:
    """Feed the whole log, up to its head when done, through `projection`."""
    follower = LogFollower(env=container.follower_env)
    events, position = 0, 0
    try:
        while position < (head := follower.recorder.max_notification_id() or 0):
            for notification in follower.recorder.select_notifications(position + 1, batch):
                event = follower.mapper.to_domain_event(notification)
                projection.process_event(event, Tracking(APP_NAME, notification.id))
                position, events = notification.id, events + 1
            flush()
            if progress is not None:
                progress(position, head)
    finally:
        follower.close()
    return events


class BufferedSearchIndex(SearchIndex):
    """Batches many events' documents into one write (used by rebuilds)."""

    def __init__(self, index: SearchIndex, batch: int):
        self.index = index
        self.batch = batch
        self._docs: dict[str, dict[str, Any]] = {}
        self._position = 0
        self._events = 0

    def get(self, product_id: str) -> dict[str, Any] | None:
        return self._docs.get(product_id) or self.index.get(product_id)

    def apply(self, docs_to_upsert: list[dict[str, Any]], tracking: Tracking) -> None:
        for doc in docs_to_upsert:
            self._docs[doc["id"]] = doc
        self._position = tracking.notification_id
        self._events += 1
        if self._events >= self.batch:
            self.flush()

    def flush(self) -> None:
        if self._events:
            self.index.apply(list(self._docs.values()), Tracking(APP_NAME, self._position))
        self._docs.clear()
        self._events = 0

    def search(self, query: Any) -> Any:
        return self.index.search(query)

    def max_tracking_id(self, application_name: str) -> int | None:
        return self._position or self.index.max_tracking_id(application_name)


def drop_generations(client: redis.Redis, name: str, keep: set[str]) -> None:
    for key in client.scan_iter(match=f"ev:{name}:g*:position", count=1000):
        generation = key.decode().split(":")[2]
        if generation not in keep:
            batch: list[bytes] = []
            for doomed in client.scan_iter(match=f"ev:{name}:{generation}:*", count=1000):
                batch.append(doomed)
                if len(batch) >= 1000:
                    client.delete(*batch)
                    batch.clear()
            if batch:
                client.delete(*batch)


def snapshot(client: Any, name: str) -> dict[str, bytes]:
    """The active generation's keys (without the generation prefix) and their bytes."""
    generation = active_generation(client, name)
    prefix = f"ev:{name}:{generation}:"
    found: dict[str, bytes] = {}
    for key in sorted(client.scan_iter(match=prefix + "*", count=1000)):
        short = key.decode()[len(prefix) :]
        if short.startswith("failures:"):
            continue
        kind = client.type(key).decode()
        if kind == "string":
            found[short] = client.get(key) or b""
        elif kind == "zset":
            found[short] = json.dumps(
                [(m.decode(), s) for m, s in client.zrange(key, 0, -1, withscores=True)]
            ).encode()
        elif kind == "list":
            found[short] = b"\n".join(client.lrange(key, 0, -1))
    return found
