"""CPU per event of reading the log (`python -m bench.log_profile`): a projection rebuild
(`stock_items`, in this process) and `replay --all --json` (the real CLI, a subprocess),
against a raw SELECT of the same rows, over the `readside` section's log.

What the `readside` section times is wall-clock rates, which on a shared machine move with
everyone else's load; the CPU each spends per event moves far less, so this is what to
compare A/B (the tree before, then the branch, interleaved). Run from the tree to measure
(`cd TREE && PYTHONPATH=$PWD python -m bench.log_profile`).

Needs DATABASE_URL (a server where it may create a database) and REDIS_URL (a database
number it may flush). The log is seeded once into `LOG_PROFILE_DB` (default
`log_profile`) and kept for the next run (`LOG_PROFILE_RESEED=1` seeds it again).
`PROFILE_RUNS` (default 3) rounds; `PROFILE_CPROFILE=rebuild|replay` prints a cProfile of
one rebuild (in process) or one replay (in process, to /dev/null), `PROFILE_TOP` lines."""

from __future__ import annotations

import cProfile
import io
import os
import pstats
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg

from bench.servers import BENCH_MASTER_KEY, JWT_SECRET
from infrastructure.runtime.collector import fewer_collections

RAW_SELECT = (
    "SELECT notification_id, originator_id, originator_version, topic, state "
    "FROM ecovarejo_events ORDER BY notification_id"
)


def _database(server_url: str, name: str, reseed: bool) -> tuple[str, bool]:
    """The profile's database URL, and whether it needs seeding."""
    with psycopg.connect(server_url, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
        if exists and reseed:
            conn.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
            exists = None
        if not exists:
            conn.execute(f'CREATE DATABASE "{name}"')
    return urlunsplit(urlsplit(server_url)._replace(path=f"/{name}")), not exists


def _env(database_url: str, redis_url: str, data_dir: Path, fresh: bool) -> dict[str, str]:
    # The master key that wraps the seeded log's data keys, kept beside its data dir.
    key_file = data_dir / "master-key"
    if fresh or not key_file.exists():
        key_file.write_text(BENCH_MASTER_KEY)
    return {
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "ECOVAREJO_DATA_DIR": str(data_dir),
        "ECOVAREJO_JWT_SECRET": JWT_SECRET,
        "ECOVAREJO_MASTER_KEY": key_file.read_text(),
    }


def _container(env: dict[str, str]):  # type: ignore[no-untyped-def]
    from infrastructure.bootstrap import bootstrap
    from infrastructure.settings import Settings

    return bootstrap(Settings(**env))  # type: ignore[arg-type]


def raw_cpu_per_row(database_url: str) -> tuple[float, float]:
    """(µs of this process's CPU per row, rows/s) of the raw SELECT."""
    with psycopg.connect(database_url) as conn, conn.cursor() as cursor:
        cpu, wall = time.process_time(), time.perf_counter()
        rows = 0
        cursor.execute(RAW_SELECT)
        while batch := cursor.fetchmany(10_000):
            rows += len(batch)
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    return cpu / rows * 1e6, rows / wall


def rebuild_cpu_per_event(container) -> tuple[float, float]:  # type: ignore[no-untyped-def]
    """(µs of this process's CPU per event, events/s) of a `stock_items` rebuild."""
    from infrastructure.read_stores.projection_admin import rebuild

    cpu = time.process_time()
    with fewer_collections():  # as `ecovarejo projections rebuild` does
        report = rebuild(container, "stock_items")
    cpu = time.process_time() - cpu
    return cpu / report.events * 1e6, report.events_per_s


def replay_cpu(env: dict[str, str], since: int) -> tuple[float, float]:
    """(CPU seconds, wall seconds) of the CLI's `replay --all --json --since N`."""
    argv = [sys.executable, "-m", "api.cli", "replay", "--all", "--json", "--since", str(since)]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    with open("/dev/null", "wb") as devnull:
        subprocess.run(argv, env={**os.environ, **env}, stdout=devnull, check=True)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return cpu, wall


def _profiled(what: str, container, env: dict[str, str]) -> None:  # type: ignore[no-untyped-def]
    profiler = cProfile.Profile()
    if what == "rebuild":
        from infrastructure.read_stores.projection_admin import rebuild

        with fewer_collections():
            profiler.runcall(rebuild, container, "stock_items")
    else:
        os.environ.update(env)
        from api.cli.lean import replay_all

        real = sys.stdout
        with open("/dev/null", "w") as devnull:
            sys.stdout = devnull
            try:
                profiler.runcall(replay_all, 0, None, True)
            finally:
                sys.stdout = real
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out)
    stats.sort_stats(os.environ.get("PROFILE_SORT", "tottime"))
    stats.print_stats(int(os.environ.get("PROFILE_TOP", "40")))
    print(out.getvalue())


def main() -> None:
    server_url, redis_url = os.environ["DATABASE_URL"], os.environ["REDIS_URL"]
    name = os.environ.get("LOG_PROFILE_DB", "log_profile")
    database_url, fresh = _database(server_url, name, os.environ.get("LOG_PROFILE_RESEED") == "1")
    default_dir = Path(tempfile.gettempdir()) / f"{name}-data"
    data_dir = Path(os.environ.get("LOG_PROFILE_DIR", str(default_dir)))
    data_dir.mkdir(parents=True, exist_ok=True)
    env = _env(database_url, redis_url, data_dir, fresh)
    container = _container(env)
    try:
        if fresh:
            from bench.config import BenchConfig
            from bench.readside import seed

            seed(container, BenchConfig.from_env())
        head = container.head_position()
        print(f"log: {head:,} events ({database_url})", flush=True)
        what = os.environ.get("PROFILE_CPROFILE")
        if what:
            _profiled(what, container, env)
            return
        for run in range(int(os.environ.get("PROFILE_RUNS", "3"))):
            raw_us, raw_rate = raw_cpu_per_row(database_url)
            rebuild_us, rebuild_rate = rebuild_cpu_per_event(container)
            start_cpu, start_wall = replay_cpu(env, head)
            replay_cpu_s, replay_wall = replay_cpu(env, 0)
            print(
                f"run {run + 1}: load {os.getloadavg()[0]:.1f} | raw {raw_us:.2f} µs/row "
                f"{raw_rate:,.0f}/s | rebuild {rebuild_us:.2f} µs/ev {rebuild_rate:,.0f}/s "
                f"({rebuild_rate / raw_rate:.3f}) | replay {replay_cpu_s / head * 1e6:.2f} µs/ev "
                f"{head / replay_wall:,.0f}/s ({head / replay_wall / raw_rate:.3f}) | start-up "
                f"{start_cpu:.3f} s CPU {start_wall:.3f} s wall",
                flush=True,
            )
    finally:
        container.close()


if __name__ == "__main__":
    main()
