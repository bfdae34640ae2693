"""The checkout saga in partitions, so that several workers (and several threads of one
worker) run its steps in parallel.

An event belongs to partition `partition_of(originator_id)`: every event of one order, or
of one payment, falls in the same partition, so the steps it causes run in log order;
steps of different aggregates run side by side. The saga needs no more order than that:
a step reads the current state of what it changes (the order, the payment, the stock
items) and a payment's events only exist once the order's step that created it has
committed. Two steps that change one stock item at once clash on its version and the
loser runs again (`CheckoutSaga.process_event`).

Each partition is a follower of its own: its position is its own row of the saga's
tracking table (`EcoVarejo.p<k>`), written in the transaction of its step; its runner is
a registry runner (`saga.p<k>`) with its own lease, so N workers split the partitions.
Its reads ask PostgreSQL for its own events only (`ParallelAppends.partition`): the other
partitions' events are never fetched nor decoded.

A partition that has no position yet starts from the position of the unpartitioned saga
(the `EcoVarejo` row) when there is one: a log the single saga followed is not replayed.
`SAGA_PARTITIONS` is fixed: changing it would move events between partitions whose
positions differ (stop every worker, let the saga drain, and move the rows by hand).
"""

from __future__ import annotations

import collections
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Self
from uuid import UUID

import psycopg
import psycopg.conninfo
from eventsourcing.persistence import ProcessRecorder, TrackingRecorder
from eventsourcing.projection import BaseProjectionRunner
from eventsourcing.utils import EnvType

from application.checkout.policy import CheckoutSaga
from application.event_store import APP_NAME, EventStore
from infrastructure.runtime.feed import Follower
from infrastructure.store.event_store import ParallelAppends, partition_of

SAGA_PARTITIONS = 4
PARTITION_ENV = "SAGA_PARTITION"  # "k/n" in a feed's environment
RETRY_ENV = "ECOVAREJO_PAYMENT_RETRY_S"  # settings.payment_retry_s, for every saga built


def configured(saga: CheckoutSaga, env: EnvType | None) -> CheckoutSaga:
    """The settings a saga takes from its process's environment."""
    saga.payment_retry_s = float((env or {}).get(RETRY_ENV) or 0)
    return saga


ITEM_LOCK_CLASS = 7301  # advisory locks (7301, hashtext(aggregate id)) of contended items
ITEM_LOCK_TIMEOUT = "30s"


def partition_name(k: int) -> str:
    """The follower, runner and lease name of partition k."""
    return f"saga.p{k}"


SAGA_FOLLOWERS = tuple(partition_name(k) for k in range(SAGA_PARTITIONS))


def tracking_name(k: int) -> str:
    """The name partition k records its position under, in the saga's tracking table."""
    return f"{APP_NAME}.p{k}"


def saga_partition_of(aggregate_id: Any) -> int:
    return partition_of(aggregate_id, SAGA_PARTITIONS)


class SagaFeed(EventStore):
    """The log as one saga partition reads it: its recorder selects the partition's events
    (the partition is `SAGA_PARTITION` in its environment)."""

    def construct_recorder(self) -> Any:
        recorder = super().construct_recorder()
        spec = self.env.get(PARTITION_ENV)
        if spec:
            if not isinstance(recorder, ParallelAppends):
                raise TypeError("saga partitions need the PostgreSQL event store")
            k, n = (int(part) for part in spec.split("/"))
            recorder.partition = (k, n)
        return recorder


class PartitionPosition(TrackingRecorder):
    """The saga's tracking recorder, as seen by one partition's runner: its position is the
    partition's row (or, before its first step, the unpartitioned saga's)."""

    def __init__(self, recorder: ProcessRecorder, name: str):
        self._recorder = recorder
        self._name = name

    def insert_tracking(self, tracking: Any) -> None:  # the saga writes with its events
        raise NotImplementedError

    def max_tracking_id(self, application_name: str) -> int | None:
        own = self._recorder.max_tracking_id(self._name)
        return own if own is not None else self._recorder.max_tracking_id(application_name)


class RunningPartitions:
    """The saga partitions this process runs now (their followers entered and not yet
    left). While it runs every one of them, no other process runs saga steps, so its steps
    need only the process's own item locks (`ItemLocks`): the shared ones would cost two
    statements (lock, unlock) per step for nothing. Another worker taking a partition over
    makes this process's runner of it stop (and the shared locks come back); a step that
    races one of another process meanwhile (a lease that lapsed) loses on the stock item's
    version and runs again, as every step that races an API command does."""

    def __init__(self) -> None:
        self._running: collections.Counter[int] = collections.Counter()
        self._guard = threading.Lock()

    def started(self, k: int) -> None:
        with self._guard:
            self._running[k] += 1

    def stopped(self, k: int) -> None:
        with self._guard:
            self._running[k] -= 1
            if self._running[k] <= 0:
                del self._running[k]

    def every_one(self) -> bool:
        return len(self._running) == SAGA_PARTITIONS


RUNNING = RunningPartitions()  # this process's


class AdvisoryItemLocks:
    """The items a saga step will change, locked for the other workers' steps: session
    advisory locks on a connection of the partition's own, taken in sorted order (the
    process's `ItemLocks` first), released after the step's commit. A worker that dies
    releases them with its connection; a lock not granted in 30 s fails the step (its
    supervisor retries it). None are taken while `running` says this process runs every
    partition (the runners' locks; tests build theirs without)."""

    def __init__(self, conninfo: str, running: RunningPartitions | None = None):
        self._conninfo = conninfo
        self._conn: psycopg.Connection[Any] | None = None
        self._running = running

    def _connect(self) -> psycopg.Connection[Any]:
        if self._conn is None or self._conn.closed:
            self._conn = psycopg.connect(self._conninfo, autocommit=True, connect_timeout=10)
            self._conn.execute(f"SET lock_timeout = '{ITEM_LOCK_TIMEOUT}'")
        return self._conn

    @contextmanager
    def holding(self, ids: list[UUID]) -> Iterator[None]:
        if self._running is not None and self._running.every_one():
            yield  # no other process steps: the process's own locks are held already
            return
        conn = self._connect()
        try:
            for item in sorted(set(ids)):
                conn.execute(
                    "SELECT pg_advisory_lock(%s, hashtext(%s))", (ITEM_LOCK_CLASS, str(item))
                )
            yield
        finally:
            try:
                conn.execute("SELECT pg_advisory_unlock_all()")
            except psycopg.Error:
                self.close()  # the locks go with the connection

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None


def conninfo_of(env: dict[str, str]) -> str:
    """A connection string from the library's POSTGRES_* settings."""
    return psycopg.conninfo.make_conninfo(
        dbname=env["POSTGRES_DBNAME"],
        host=env["POSTGRES_HOST"],
        port=env["POSTGRES_PORT"],
        user=env["POSTGRES_USER"],
        password=env.get("POSTGRES_PASSWORD", ""),
    )


def saga_partition_follower(k: int, env: dict[str, str]) -> Follower:
    """Partition k of the saga on the worker's feed: the saga, its position and its locks
    as `SagaPartitionRunner` has them, without a subscription of its own."""
    saga = CheckoutSaga(env=BaseProjectionRunner._construct_env(CheckoutSaga.name, env))
    configured(saga, env)
    saga.tracking_name = tracking_name(k)
    locks = AdvisoryItemLocks(conninfo_of(env), RUNNING)
    saga.shared_locks = locks.holding
    position = PartitionPosition(saga.recorder, tracking_name(k))

    def open_() -> None:
        saga.__enter__()
        RUNNING.started(k)

    def close() -> None:
        RUNNING.stopped(k)
        try:
            saga.__exit__(None, None, None)
        finally:
            locks.close()

    return Follower(
        partition_name(k),
        saga,
        lambda: position.max_tracking_id(APP_NAME) or 0,
        topics=frozenset(CheckoutSaga.topics),
        partition=(k, SAGA_PARTITIONS),
        enter=open_,
        exit=close,
    )


class SagaPartitionRunner(BaseProjectionRunner[EventStore]):
    """The library's runner for one partition of the saga (its own saga instance, feed and
    position), like `EventSourcedProjectionRunner` for the whole saga."""

    def __init__(self, k: int, env: EnvType | None = None):
        feed_env = {**(env or {}), PARTITION_ENV: f"{k}/{SAGA_PARTITIONS}"}
        self.projection = configured(
            CheckoutSaga(env=self._construct_env(CheckoutSaga.name, env)), env
        )
        self.projection.tracking_name = tracking_name(k)
        self.k = k
        self.locks = AdvisoryItemLocks(conninfo_of(dict(env or {})), RUNNING)
        self.projection.shared_locks = self.locks.holding
        super().__init__(
            projection=self.projection,
            application_class=SagaFeed,
            tracking_recorder=PartitionPosition(self.projection.recorder, tracking_name(k)),
            topics=CheckoutSaga.topics,
            env=feed_env,
        )

    def __enter__(self) -> Self:
        runner = super().__enter__()
        self.projection.__enter__()
        RUNNING.started(self.k)
        return runner

    def __exit__(self, *args: Any) -> None:
        RUNNING.stopped(self.k)
        try:
            self.projection.__exit__(*args)
            super().__exit__(*args)
        finally:
            self.locks.close()
