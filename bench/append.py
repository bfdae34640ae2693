"""Events appended per second through an application command (a stock receipt, get ->
change -> save) against single-row INSERT transactions per second on the same PostgreSQL,
with 1 and N concurrent writers (processes), each on its own SKU; between the two, the
event store's own SQL sent by hand (bench/writers.py), the database's share of a command.

Each measurement starts on freshly registered SKUs, so every run sees the same history
lengths: from 1 event up to what one writer appends in the run (recorded as
`append_history_end_<n>w`; every command replays its aggregate's whole history)."""

from __future__ import annotations

import psycopg

from bench.config import BenchConfig
from bench.report import Results, log
from bench.seed import register
from bench.servers import Servers
from bench.stats import latency_summary, ratio
from bench.writers import RAW_TABLE_DDL, LoopResult, WriterPool
from infrastructure.bootstrap import Container, bootstrap

WARMUP_SECONDS = 0.5
SUMMARIZED = (
    "append_per_s",
    "raw_insert_per_s",
    "raw_event_sql_per_s",
    "append_ratio",
    "raw_event_sql_ratio",
    "append_p50_ms",
    "append_p99_ms",
    "raw_insert_p50_ms",
    "raw_insert_p99_ms",
    "append_history_end",
    "append_threads_per_s",
    "append_threads_ratio",
    "append_threads_alone_per_s",
    "append_threads_alone_ratio",
)


def rate(results: list[LoopResult]) -> float:
    """Operations per second over the window in which all writers ran."""
    started = min(r.started for r in results)
    ended = max(r.ended for r in results)
    return sum(r.count for r in results) / (ended - started)


def fresh_skus(container: Container, label: str, writers: int) -> list[str]:
    skus = [f"BENCH-W{label}-{i}" for i in range(writers)]
    register(container, skus)
    return skus


def bench_append(config: BenchConfig, servers: Servers, results: Results) -> None:
    section = servers.section("append")
    container = bootstrap(section.settings())
    with psycopg.connect(section.database_url, autocommit=True) as conn:
        conn.execute(RAW_TABLE_DDL)
    pool = WriterPool(max(config.writers), section.env)
    try:
        warm = fresh_skus(container, "WARM", max(config.writers))
        for kind in ("app", "events", "raw"):
            pool.run(kind, warm, WARMUP_SECONDS)
        for run in range(config.runs):
            for writers in config.writers:
                skus = fresh_skus(container, f"{run}X{writers}", writers)
                app = pool.run("app", skus, config.append_seconds)
                events = pool.run("events", skus, config.append_seconds)
                raw = pool.run("raw", skus, config.append_seconds)
                _record(results, writers, app, raw)
                if writers > 1:
                    _record_threads(pool, results, writers, skus, config.append_seconds, raw)
                results.add(f"raw_event_sql_per_s_{writers}w", rate(events))
                results.add(f"raw_event_sql_ratio_{writers}w", ratio(rate(events), rate(raw)))
                log(
                    f"append run {run + 1} {writers}w: app {rate(app):,.0f}/s, event-store "
                    f"SQL {rate(events):,.0f}/s, raw INSERT {rate(raw):,.0f}/s"
                )
    finally:
        pool.close()
        container.close()
    for writers in config.writers:
        for key in SUMMARIZED:
            if writers > 1 or not key.startswith("append_threads"):
                results.summarize(f"{key}_{writers}w")


def _record_threads(
    pool: WriterPool,
    results: Results,
    writers: int,
    skus: list[str],
    seconds: float,
    raw: list[LoopResult],
) -> None:
    """The same commands from `writers` threads of ONE process (as the API's thread pool
    sends them), with group commit and without, against the same raw INSERT processes."""
    grouped = pool.run_threads("threads:app", skus, seconds)
    alone = pool.run_threads("threads:app-alone", skus, seconds)
    suffix = f"{writers}w"
    results.add(f"append_threads_per_s_{suffix}", rate(grouped))
    results.add(f"append_threads_ratio_{suffix}", ratio(rate(grouped), rate(raw)))
    results.add(f"append_threads_alone_per_s_{suffix}", rate(alone))
    results.add(f"append_threads_alone_ratio_{suffix}", ratio(rate(alone), rate(raw)))
    log(
        f"append {writers} threads of one process: group commit {rate(grouped):,.0f}/s, "
        f"each alone {rate(alone):,.0f}/s"
    )


def _record(results: Results, writers: int, app: list[LoopResult], raw: list[LoopResult]) -> None:
    suffix = f"{writers}w"
    app_rate, raw_rate = rate(app), rate(raw)
    app_latency = latency_summary([s for r in app for s in r.latencies])
    raw_latency = latency_summary([s for r in raw for s in r.latencies])
    results.add(f"append_per_s_{suffix}", app_rate)
    results.add(f"raw_insert_per_s_{suffix}", raw_rate)
    results.add(f"append_ratio_{suffix}", ratio(app_rate, raw_rate))
    results.add(f"append_history_end_{suffix}", max(r.count for r in app) + 1)
    for p in ("p50", "p99"):
        results.add(f"append_{p}_ms_{suffix}", app_latency[f"{p}_ms"])
        results.add(f"raw_insert_{p}_ms_{suffix}", raw_latency[f"{p}_ms"])
