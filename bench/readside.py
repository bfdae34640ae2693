"""Reading the log: a projection rebuild and `replay --all --json` against a raw SELECT of
the same rows through psycopg, over a log of >= 100k events."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import psycopg

from bench.config import BenchConfig
from bench.report import Results, log
from bench.seed import seed_orders, seed_products, seed_receipts
from bench.servers import Section, Servers
from bench.stats import ratio
from infrastructure.bootstrap import Container, bootstrap
from infrastructure.read_stores.projection_admin import rebuild
from infrastructure.runtime.collector import fewer_collections

RAW_SELECT = (
    "SELECT notification_id, originator_id, originator_version, topic, state "
    "FROM ecovarejo_events ORDER BY notification_id"
)
REBUILT = "stock_items"  # the projection with work to do for every seeded event
ROOT = Path(__file__).resolve().parent.parent


def seed(container: Container, config: BenchConfig) -> int:
    started = time.perf_counter()
    items = seed_products(container.services, config.seed_stock_items)
    seed_orders(container.services, items[1].sku, config.seed_orders)
    missing = config.seed_events - container.head_position()
    seed_receipts(container.services, items, max(missing, 0))
    head = container.head_position()
    log(f"seeded {head:,} events in {time.perf_counter() - started:.1f}s")
    return head


def raw_select(database_url: str, decode: bool) -> tuple[int, float]:
    """Rows fetched (and their JSON state parsed, with `decode`), and the seconds taken."""
    with psycopg.connect(database_url) as conn:
        started = time.perf_counter()
        rows = 0
        with conn.cursor() as cursor:
            cursor.execute(RAW_SELECT)
            while batch := cursor.fetchmany(10_000):
                rows += len(batch)
                if decode:
                    for row in batch:
                        json.loads(row[4])
        return rows, time.perf_counter() - started


def replay_cli(section: Section, since: int) -> float:
    """Seconds the real CLI takes to stream the log after `since` as JSON lines."""
    argv = [sys.executable, "-m", "api.cli", "replay", "--all", "--json", "--since", str(since)]
    started = time.perf_counter()
    with open("/dev/null", "wb") as devnull:
        subprocess.run(argv, env=section.process_env(), stdout=devnull, check=True, cwd=ROOT)
    return time.perf_counter() - started


def bench_readside(config: BenchConfig, servers: Servers, results: Results) -> None:
    section = servers.section("readside")
    container = bootstrap(section.settings())
    try:
        head = seed(container, config)
        results.set("readside_events", head)
        for run in range(config.runs):
            _one_run(container, section, head, results, run)
    finally:
        container.close()
    for key in (
        "raw_select_per_s",
        "raw_select_decoded_per_s",
        "raw_select_decoded_ratio",
        "rebuild_per_s",
        "rebuild_ratio",
        "replay_per_s",
        "replay_ratio",
        "replay_stream_per_s",
        "replay_stream_ratio",
        "replay_startup_s",
    ):
        results.summarize(key)


def _one_run(container: Container, section: Section, head: int, results: Results, run: int) -> None:
    rows, seconds = raw_select(section.database_url, decode=False)
    raw = rows / seconds
    rows, seconds = raw_select(section.database_url, decode=True)
    decoded = rows / seconds
    with fewer_collections():  # as `ecovarejo projections rebuild` does
        report = rebuild(container, REBUILT)
    startup = replay_cli(section, since=head)
    replay_seconds = replay_cli(section, since=0)
    replay = head / replay_seconds
    stream = head / max(replay_seconds - startup, 1e-9)
    results.add("raw_select_per_s", raw)
    results.add("raw_select_decoded_per_s", decoded)
    results.add("raw_select_decoded_ratio", ratio(decoded, raw))
    results.add("rebuild_per_s", report.events_per_s)
    results.add("rebuild_ratio", ratio(report.events_per_s, raw))
    results.add("replay_per_s", replay)
    results.add("replay_ratio", ratio(replay, raw))
    results.add("replay_stream_per_s", stream)
    results.add("replay_stream_ratio", ratio(stream, raw))
    results.add("replay_startup_s", startup)
    log(
        f"read side run {run + 1}: raw {raw:,.0f}/s decoded {decoded:,.0f}/s "
        f"rebuild {report.events_per_s:,.0f}/s replay {replay:,.0f}/s "
        f"(startup {startup:.2f}s, streaming {stream:,.0f}/s)"
    )
