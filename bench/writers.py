"""Writer processes for the append benchmark: each owns one event-sourced application (or
one plain psycopg connection) and runs timed loops on command, so N writers are N
processes with their own interpreter, as N API workers would be."""

from __future__ import annotations

import contextlib
import multiprocessing as mp
import time
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any

# About the size of a stored StockItem.Received (JSON state with its metadata).
RAW_PAYLOAD = b'{"quantity":1,"timestamp":"2025-11-22T21:00:00.000000+00:00",' + b"x" * 140
RAW_TABLE_DDL = "CREATE TABLE IF NOT EXISTS bench_raw (id bigserial, payload bytea)"


@dataclass(frozen=True)
class LoopResult:
    count: int
    started: float  # time.time() of the first operation
    ended: float  # time.time() after the last one
    latencies: list[float]


def _timed_loop(operation: Any, start_at: float, seconds: float) -> LoopResult:
    time.sleep(max(0.0, start_at - time.time()))
    latencies: list[float] = []
    started = time.time()
    stop = time.perf_counter() + seconds
    while (before := time.perf_counter()) < stop:
        operation()
        latencies.append(time.perf_counter() - before)
    return LoopResult(len(latencies), started, time.time(), latencies)


def _serve(conn: Connection, env: dict[str, str]) -> None:
    """The loop of one writer process: set up once, then run what it is sent."""
    import psycopg

    from domain.base import EventMetadata, event_context
    from infrastructure.bootstrap import bootstrap
    from infrastructure.settings import Settings

    container = bootstrap(Settings(**env))  # type: ignore[arg-type]
    raw = psycopg.connect(env["DATABASE_URL"], autocommit=True)
    conn.send("ready")
    try:
        with event_context(EventMetadata("admin:bench", "bench", "bench")):
            while (message := conn.recv()) is not None:
                kind, argument, start_at, seconds = message
                if kind == "app":
                    sku = argument

                    def operation(sku: str = sku) -> None:
                        container.shop.receive_stock(sku, 1)

                else:

                    def operation() -> None:
                        raw.execute(
                            "INSERT INTO bench_raw (payload) VALUES (%s)", (RAW_PAYLOAD,)
                        )

                conn.send(_timed_loop(operation, start_at, seconds))
    finally:
        raw.close()
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

    def run(self, kind: str, arguments: list[str], seconds: float) -> list[LoopResult]:
        """Run `kind` ("app" or "raw") in the first len(arguments) writers at once."""
        start_at = time.time() + 0.3
        pipes = self._pipes[: len(arguments)]
        for pipe, argument in zip(pipes, arguments, strict=True):
            pipe.send((kind, argument, start_at, seconds))
        return [pipe.recv() for pipe in pipes]

    def close(self) -> None:
        for pipe in self._pipes:
            with contextlib.suppress(OSError):
                pipe.send(None)
        for process in self._processes:
            process.join(30)
            if process.is_alive():
                process.terminate()
