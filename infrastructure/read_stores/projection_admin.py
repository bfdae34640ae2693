"""Operating the read side: status and lag of every follower, and zero-downtime rebuilds
of the Redis projections into a new generation."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from typing import Any, Protocol, cast

import psycopg
import redis
from eventsourcing.persistence import Tracking

from application.event_store import APP_NAME, LogFollower, TolerantMapper
from infrastructure.read_stores.parked_retry import RetryOutcome, retry_parked
from infrastructure.read_stores.redis_keys import generation_prefix, status_key
from infrastructure.read_stores.redis_views import active_generation
from infrastructure.runtime.followers import (
    PROCESSES,
    READ_MODELS,
    Process,
    Resources,
    process_available,
    runner_of,
)
from infrastructure.runtime.runners import RunnerStatus
from infrastructure.store.event_store import PARTITION_OF_SQL, notification_rows
from projections.base import Batch, Projector

STATUS_TTL_S = 15


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
    conn: psycopg.Connection[Any], process: Process, head: int
) -> tuple[int, int]:
    """Where a process is (its row of its table; a partition without one yet: the
    unpartitioned saga's row), and how many of its events it has still to handle."""
    table = process.table
    if process.tracking is None:
        row = conn.execute(f"SELECT max(notification_id) FROM {table}").fetchone()  # noqa: S608
    else:
        row = conn.execute(
            f"SELECT coalesce(max(notification_id) FILTER (WHERE application_name = %s), "  # noqa: S608
            f"max(notification_id) FILTER (WHERE application_name = %s)) FROM {table}",
            (process.tracking, APP_NAME),
        ).fetchone()
    position = int(row[0]) if row and row[0] is not None else 0
    where, params = "notification_id > %s AND topic = ANY(%s)", [position, list(process.topics)]
    if process.partition is not None:
        where += " AND " + PARTITION_OF_SQL + " = %s"
        params += [process.partition[1], process.partition[0]]
    lag = conn.execute(
        f"SELECT count(*) FROM ecovarejo_events WHERE {where}",  # noqa: S608
        params,
    ).fetchone()
    return position, int(lag[0]) if lag else head - position


class Admin(Resources, Protocol):
    """What the read-side tools need: the wiring's resources and the log's head."""

    def head_position(self) -> int: ...


def statuses(container: Admin) -> list[FollowerStatus]:
    """Every follower of the registry: its position, the head, the lag, its runner's state."""
    head = container.head_position()
    found = []
    for name, model in READ_MODELS.items():
        if not model.available(container):
            continue
        store = model.open(container)
        position = store.position()
        runner = runner_status(container.redis, runner_of(name))
        found.append(
            FollowerStatus(
                name,
                "read model",
                store.generation,
                position,
                head,
                head - position,
                runner["state"],
                runner["failures"],
                runner["last_error"],
                model.parking(container, store.generation).parked(),
            )
        )
    with psycopg.connect(container.database_url) as conn:
        for name, process in PROCESSES.items():
            if not process_available(container, name):
                continue
            position, lag = _process_position(conn, process, head)
            runner = runner_status(container.redis, runner_of(name))
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


# Events between writes to a new generation. Nothing reads it before the swap and a
# rebuild never resumes (each starts a new generation), so writes wait: a document changed
# by many events of the pass is written once per batch, not once per read of the log (with
# 1,000 stock items and receipts spread over them, a batch of 1,000 events wrote every
# document it touched: two Redis keys per event).
REBUILD_BATCH = 20_000


def rebuild(
    container: Resources, name: str, progress: Progress | None = None, batch: int = REBUILD_BATCH
) -> RebuildReport:
    """Replay the whole log into a new generation of `name`, then swap it in atomically.
    Readers use the old generation until the swap; the live runner moves over by itself."""
    return rebuild_many(container, [name], progress, batch)[0]


def rebuild_many(
    container: Resources,
    names: list[str],
    progress: Progress | None = None,
    batch: int = REBUILD_BATCH,
) -> list[RebuildReport]:
    """Rebuild several read models in ONE pass over the log: each event read and decoded
    once and handed to every model's projector, each writing its own new generation; then
    each is swapped in (atomically, one by one) and its older generations dropped. The
    reports share the pass's events and seconds."""
    models = [READ_MODELS[name] for name in dict.fromkeys(names)]
    started = time.perf_counter()
    generation = f"g{time.time_ns()}"
    previous = [model.active_generation(container) for model in models]
    stores = [Batch(model.open(container, generation), batch, fresh=True) for model in models]
    projectors = [
        model.projector_on(container, store) for model, store in zip(models, stores, strict=True)
    ]
    events = replay_into(container, projectors, stores, progress)
    seconds = time.perf_counter() - started
    reports = []
    for model, before in zip(models, previous, strict=True):
        model.activate(container, generation)
        for old in model.generations(container):
            if old not in (generation, before):
                model.drop(container, old)
        reports.append(RebuildReport(model.name, generation, before, events, seconds))
    return reports


def tracking_at(position: int) -> Tracking:
    """`Tracking(APP_NAME, position)`, made as the frozen dataclass' `__init__` would but
    without its two `object.__setattr__` calls (a rebuild makes one per event)."""
    tracking = object.__new__(Tracking)
    tracking.__dict__.update(application_name=APP_NAME, notification_id=position)
    return tracking


def replay_into(
    container: Resources,
    projectors: list[Projector],
    batches: list[Batch],
    progress: Progress | None = None,
    select_size: int = 1000,
) -> int:
    """Feed the whole log, up to its head when done, through `projectors` (each event
    decoded once). `batches` write when full (their size) and once at the end."""
    follower = LogFollower(env=container.follower_env)
    events, position = 0, 0
    event_of_row = cast(TolerantMapper, follower.mapper).event_of_row
    recorder = follower.recorder
    select = notification_rows(recorder)  # rows as tuples: no `Notification` made of each
    # The next page is read in another thread while this one is projected: the read's
    # round trip and the rows' conversion (psycopg, mostly outside the GIL) overlap the
    # decoding and projecting (a sixth of a rebuild's time was waiting on the read).
    reader = ThreadPoolExecutor(1, thread_name_prefix="rebuild-read")
    try:
        head = recorder.max_notification_id() or 0
        page = reader.submit(select, 1, select_size)
        while position < head:
            rows = page.result()
            after = rows[-1][0] if rows else position
            page = reader.submit(select, after + 1, select_size)
            for position, originator_id, version, topic, state in rows:
                event = event_of_row(topic, originator_id, version, state)
                tracking = tracking_at(position)
                for projector in projectors:
                    projector.process_event(event, tracking)
            events += len(rows)
            if progress is not None:
                progress(position, head)
            if position >= head:  # caught up with the head read before: read it again
                head = recorder.max_notification_id() or 0
        for store in batches:
            store.flush()
    finally:
        reader.shutdown(wait=True, cancel_futures=True)
        follower.close()
    return events


def snapshot(client: Any, name: str) -> dict[str, bytes]:
    """The active generation's keys (without the generation prefix) and their bytes."""
    generation = active_generation(client, name)
    prefix = generation_prefix(name, generation)
    found: dict[str, bytes] = {}
    for key in sorted(client.scan_iter(match=prefix + "*", count=1000)):
        short = key.decode()[len(prefix) :]
        if short.startswith("parked:failures:"):
            continue
        kind = client.type(key).decode()
        if kind == "string":
            found[short] = client.get(key) or b""
        elif kind == "zset":
            found[short] = json.dumps(
                [(m.decode(), s) for m, s in client.zrange(key, 0, -1, withscores=True)]
            ).encode()
        elif kind == "hash":
            found[short] = json.dumps(
                sorted((k.decode(), v.decode()) for k, v in client.hgetall(key).items())
            ).encode()
    return found


class ReadSideAdmin:
    """The read side as operators act on it (application/operations/read_side.py's port),
    over this process's wiring."""

    rebuildable: tuple[str, ...] = tuple(READ_MODELS)

    def __init__(self, container: Admin):
        self.container = container

    def statuses(self) -> list[FollowerStatus]:
        return statuses(self.container)

    def rebuild(self, names: list[str], progress: Progress | None = None) -> list[RebuildReport]:
        return rebuild_many(self.container, names, progress)

    def retry_parked(self, name: str, position: int) -> RetryOutcome:
        return retry_parked(self.container, name, position)
