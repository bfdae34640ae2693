"""The Python cost of one command on the write path, in process: a loop of stock receipts
(get -> change -> save) against a PostgreSQL database of its own, profiled with cProfile
and summed per layer.

    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/postgres REDIS_URL=redis://.../14 \\
        .venv/bin/python -m bench.write_profile [N]

Creates `cmdprofile_<hex>` next to DATABASE_URL's database and drops it at the end. Prints
the process CPU per command (measured without the profiler), then each layer's share of
the profiled time: the innermost frame of each sampled call is charged to the first
layer whose path it is under, walking callers until one matches (`LAYERS`)."""

from __future__ import annotations

import cProfile
import os
import pstats
import sys
import time
import uuid
from collections import defaultdict
from collections.abc import Callable
from functools import partial

import psycopg

from bench.servers import BENCH_MASTER_KEY, JWT_SECRET, with_database

# Path fragments, most specific first: a function's own time goes to the first match.
LAYERS: tuple[tuple[str, str], ...] = (
    ("eventsourcing/application.py", "library: application (save, repository get)"),
    ("eventsourcing/domain.py", "library: aggregate (trigger_event, mutate, replay)"),
    ("eventsourcing/persistence.py", "library: mapper + recorder base"),
    ("eventsourcing/postgres.py", "library: postgres recorder"),
    ("eventsourcing/", "library: other"),
    ("application/transcoder.py", "ours: transcoder"),
    ("application/keys.py", "ours: cipher / keys"),
    ("infrastructure/store/", "ours: recorder (event_store.py)"),
    ("application/", "ours: application services"),
    ("domain/", "ours: domain (aggregate, events)"),
    ("psycopg_pool/", "psycopg pool"),
    ("psycopg/", "psycopg"),
    ("json/", "stdlib json (encode)"),
    ("copy.py", "stdlib copy (deepcopy from cache)"),
    ("uuid.py", "stdlib uuid"),
    ("threading.py", "stdlib threading"),
    ("datetime", "datetime"),
)


def layer_of(filename: str) -> str:
    for fragment, name in LAYERS:
        if fragment in filename:
            return name
    if filename.startswith("~") or filename == "":
        return "builtins (C)"
    return "other"


def per_layer(profile: cProfile.Profile) -> dict[str, float]:
    """Own time per layer; a C builtin's time goes to the layer of its caller."""
    stats = pstats.Stats(profile)
    totals: dict[str, float] = defaultdict(float)
    for (filename, _line, _name), (_cc, _nc, tottime, _ct, callers) in stats.stats.items():  # type: ignore[attr-defined]
        if filename == "~" and callers:
            weight = sum(c[2] for c in callers.values()) or 1.0
            for (cfile, _l, _n), c in callers.items():
                totals[layer_of(cfile)] += tottime * (c[2] / weight)
            continue
        totals[layer_of(filename)] += tottime
    return dict(totals)


def thread_cpu() -> float:
    return time.thread_time()


def floor(container: object, n: int) -> None:
    """The two statements of a command (its aggregate's new events, then the append), sent
    by hand on one pooled connection: psycopg's and the kernel's share, without ours."""
    from infrastructure.store.event_store import ParallelAppends

    recorder = container.services.store.recorder  # type: ignore[attr-defined]
    assert isinstance(recorder, ParallelAppends)
    select = (
        "SELECT originator_id, originator_version, topic, state FROM ecovarejo_events "
        "WHERE originator_id = %s AND originator_version > %s ORDER BY originator_version"
    )
    originator = uuid.uuid4()
    state = b'{"timestamp":{"_type_":"datetime_iso","_data_":"2026-12-07T08:16:24.194566+00:00"}}'
    with recorder.datastore.get_connection() as conn:
        recorder.resolve_sequence(conn)
        started, cpu = time.perf_counter(), time.process_time()
        for version in range(1, n + 1):
            conn.execute(select, (originator, version - 1), prepare=True).fetchall()
            params = (originator, version, "bench:Floor", state)
            conn.execute(recorder.append_one_sql, params, prepare=True).fetchall()
        wall, cpu = time.perf_counter() - started, time.process_time() - cpu
    print(
        f"floor (the same two statements by hand, one connection): process CPU "
        f"{cpu / n * 1e3:.3f} ms, wall {wall / n * 1e3:.3f} ms per command"
    )


def main(n: int = 2000) -> None:
    base = os.environ.get("DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
    redis_url = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/14")
    dbname = f"cmdprofile_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(base, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{dbname}"')
    try:
        run(with_database(base, dbname), redis_url, n)
    finally:
        with psycopg.connect(base, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)')


def run(database_url: str, redis_url: str, n: int) -> None:
    from domain.base import EventMetadata, event_context
    from infrastructure.bootstrap import bootstrap
    from infrastructure.settings import Settings

    env = {
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "ECOVAREJO_JWT_SECRET": JWT_SECRET,
        "ECOVAREJO_MASTER_KEY": BENCH_MASTER_KEY,
    }
    container = bootstrap(Settings(**env))  # type: ignore[arg-type]
    catalog = container.services.catalog
    from bench.seed import register

    try:
        with event_context(EventMetadata("admin:bench", "bench", "bench")):
            rounds: list[tuple[str, Callable[[], object]]] = []
            for label in ("warm", "timed", "profiled"):
                sku = f"PROF-{label.upper()}-{uuid.uuid4().hex[:6].upper()}"
                register(container, [sku])
                rounds.append((label, partial(catalog.receive_stock, sku, 1)))
            _, warm = rounds[0]
            for _ in range(min(n, 300)):
                warm()
            _, timed = rounds[1]
            started, cpu, own = time.perf_counter(), time.process_time(), time.thread_time()
            for _ in range(n):
                timed()
            wall, cpu = time.perf_counter() - started, time.process_time() - cpu
            own = time.thread_time() - own
            print(
                f"{n} stock receipts: process CPU {cpu / n * 1e3:.3f} ms per command "
                f"(the command's thread {own / n * 1e3:.3f}, other threads — the waker's "
                f"NOTIFYs, the pool's — {(cpu - own) / n * 1e3:.3f}), wall "
                f"{wall / n * 1e3:.3f} ms (load {os.getloadavg()[0]:.2f})"
            )
            floor(container, n)
            if os.environ.get("PROFILE_SKIP"):
                return
            _, profiled = rounds[2]
            profile = cProfile.Profile(time.thread_time)  # CPU, not waits
            profile.enable()
            for _ in range(n):
                profiled()
            profile.disable()
    finally:
        container.close()
    totals = per_layer(profile)
    whole = sum(totals.values())
    print(f"profiled: {whole / n * 1e3:.3f} ms per command (profiler overhead included)")
    for name, seconds in sorted(totals.items(), key=lambda kv: -kv[1]):
        print(f"  {seconds / whole * 100:5.1f} %  {seconds / n * 1e6:7.1f} µs  {name}")
    if os.environ.get("PROFILE_TOP"):
        pstats.Stats(profile).sort_stats("tottime").print_stats(int(os.environ["PROFILE_TOP"]))
        pstats.Stats(profile).sort_stats("cumulative").print_stats(int(os.environ["PROFILE_TOP"]))
    if os.environ.get("PROFILE_CALLERS"):
        pstats.Stats(profile).print_callers(os.environ["PROFILE_CALLERS"])


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 2000)
