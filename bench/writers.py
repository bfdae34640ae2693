"""Writer processes for the append benchmark: each owns one event-sourced application and
one plain psycopg connection and runs timed loops on command, so N writers are N
processes with their own interpreter, as N API workers would be.

Three kinds of loop:
  app     `shop.receive_stock(sku, 1)`: the command, get -> change -> save
  events  the event store's own SQL for one event, sent by hand (the recorder's own
          statement, `append_one_sql` of infrastructure/store/event_store.py: one INSERT ...
          RETURNING with the positions from ecovarejo_allocate_positions, in its own implicit
          transaction; then the recorder's `Waker` is poked, which sends the coalesced
          pg_notify from its own thread): the database's share of a command, without
          Python's
  raw     a single-row INSERT transaction into a plain table: the physical baseline
"""

from __future__ import annotations

import contextlib
import multiprocessing as mp
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any

# About the size of a stored StockItem.Received (JSON state with its metadata).
RAW_PAYLOAD = b'{"quantity":1,"timestamp":"2025-11-22T21:00:00.000000+00:00",' + b"x" * 140
RAW_TABLE_DDL = "CREATE TABLE IF NOT EXISTS bench_raw (id bigserial, payload bytea)"
RAW_INSERT = "INSERT INTO bench_raw (payload) VALUES (%s)"
EVENT_TOPIC = "bench.writers:RawEvent"


@dataclass(frozen=True)
class LoopResult:
    count: int
    started: float  # time.time() of the first operation
    ended: float  # time.time() after the last one
    latencies: list[float]


def _timed_loop(operation: Callable[[], None], start_at: float, seconds: float) -> LoopResult:
    time.sleep(max(0.0, start_at - time.time()))
    latencies: list[float] = []
    started = time.time()
    stop = time.perf_counter() + seconds
    while (before := time.perf_counter()) < stop:
        operation()
        latencies.append(time.perf_counter() - before)
    return LoopResult(len(latencies), started, time.time(), latencies)


def event_sql(conn: Any, recorder: Any) -> Callable[[], None]:
    """One event appended with the statement the event store sends, and its wake-up."""
    originator_id = uuid.uuid4()
    versions = iter(range(1, 1 << 62))
    with recorder.datastore.get_connection() as pooled:
        recorder.resolve_sequence(pooled)  # as its first append does
    statement, waker = recorder.append_one_sql, recorder.waker

    def append() -> None:
        row = (originator_id, next(versions), EVENT_TOPIC, RAW_PAYLOAD)
        conn.execute(statement, row, prepare=True).fetchall()
        waker.poke()

    return append


def _operation(kind: str, sku: str, container: Any, conn: Any) -> Callable[[], None]:
    if kind == "app":
        return lambda: container.services.catalog.receive_stock(sku, 1)
    if kind == "events":
        return event_sql(conn, container.services.store.recorder)
    return lambda: conn.execute(RAW_INSERT, (RAW_PAYLOAD,))


def _threads(
    kind: str, skus: list[str], container: Any, start_at: float, seconds: float
) -> list[LoopResult]:
    """`app` commands from one thread per SKU in this ONE process, as the API's thread
    pool runs them: with `threads:app` concurrent commands share a commit (group commit),
    with `threads:app-alone` each sends its own (the recorder's group commit off)."""
    import threading

    from domain.base import EventMetadata, event_context

    recorder = container.services.store.recorder
    group_commit = recorder.group_commit
    if kind == "threads:app-alone":
        recorder.group_commit = None
    results: list[LoopResult] = []

    def run(sku: str) -> None:
        with event_context(EventMetadata("admin:bench", "bench", "bench")):
            operation = _operation("app", sku, container, None)
            results.append(_timed_loop(operation, start_at, seconds))

    threads = [threading.Thread(target=run, args=(sku,)) for sku in skus]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        recorder.group_commit = group_commit
    return results


def _serve(pipe: Connection, env: dict[str, str]) -> None:
    """The loop of one writer process: set up once, then run what it is sent."""
    import psycopg

    from domain.base import EventMetadata, event_context
    from infrastructure.bootstrap import bootstrap
    from infrastructure.settings import Settings

    container = bootstrap(Settings(**env))  # type: ignore[arg-type]
    conn = psycopg.connect(env["DATABASE_URL"], autocommit=True)
    pipe.send("ready")
    try:
        with event_context(EventMetadata("admin:bench", "bench", "bench")):
            while (message := pipe.recv()) is not None:
                kind, sku, start_at, seconds = message
                if kind.startswith("threads:"):
                    pipe.send(_threads(kind, sku, container, start_at, seconds))
                    continue
                pipe.send(_timed_loop(_operation(kind, sku, container, conn), start_at, seconds))
    finally:
        conn.close()
        container.close()


class WriterPool:
    """N writer processes, each sent one loop at a time."""

    def __init__(self, size: int, env: dict[str, str]):
        context = mp.get_context("spawn")
        self._pipes: list[Connection] = []
        self._processes: list[Any] = []
        # One at a time: concurrent bootstraps race on the library's CREATE statements
        # ("tuple concurrently updated"), see bench/README.md.
        for _ in range(size):
            parent, child = context.Pipe()
            process = context.Process(target=_serve, args=(child, env), daemon=True)
            process.start()
            self._pipes.append(parent)
            self._processes.append(process)
            if not parent.poll(120) or parent.recv() != "ready":
                self.close()
                raise RuntimeError("a writer process did not start")

    def run(self, kind: str, skus: list[str], seconds: float) -> list[LoopResult]:
        """Run `kind` in the first len(skus) writers at once, writer i on skus[i]."""
        start_at = time.time() + 0.3
        pipes = self._pipes[: len(skus)]
        for pipe, sku in zip(pipes, skus, strict=True):
            pipe.send((kind, sku, start_at, seconds))
        return [pipe.recv() for pipe in pipes]

    def run_threads(self, kind: str, skus: list[str], seconds: float) -> list[LoopResult]:
        """Run `kind` (`threads:app`, `threads:app-alone`) in ONE writer, a thread per SKU."""
        self._pipes[0].send((kind, skus, time.time() + 0.3, seconds))
        return self._pipes[0].recv()  # type: ignore[no-any-return]

    def close(self) -> None:
        for pipe in self._pipes:
            with contextlib.suppress(OSError):
                pipe.send(None)
        for process in self._processes:
            process.join(30)
            if process.is_alive():
                process.terminate()
