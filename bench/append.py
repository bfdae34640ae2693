"""Events appended per second through an application command (a stock receipt, get ->
change -> save) against single-row INSERT transactions per second on the same PostgreSQL,
with 1 and N concurrent writers (processes), each on its own SKU."""

from __future__ import annotations

import psycopg

from bench.config import BenchConfig
from bench.report import Results, log
from bench.servers import Servers
from bench.stats import latency_summary, ratio
from bench.writers import RAW_TABLE_DDL, LoopResult, WriterPool
from domain.base import EventMetadata, event_context
from domain.money import Money
from infrastructure.bootstrap import bootstrap

WARMUP_SECONDS = 0.5


def rate(results: list[LoopResult]) -> float:
    """Operations per second over the window in which all writers ran."""
    started = min(r.started for r in results)
    ended = max(r.ended for r in results)
    return sum(r.count for r in results) / (ended - started)


def _register(section_env: dict[str, str], skus: list[str]) -> None:
    from infrastructure.settings import Settings

    container = bootstrap(Settings(**section_env))  # type: ignore[arg-type]
    try:
        with event_context(EventMetadata("admin:bench", "bench-setup", "bench")):
            for sku in skus:
                container.shop.register_stock_item(
                    sku=sku,
                    name=f"Produto {sku}",
                    description="bench",
                    category="casa",
                    price=Money.brl("10.00"),
                    initial_quantity=0,
                    sustainability={"carbon_footprint_kg": "1.0", "certifications": []},
                )
    finally:
        container.close()
    with psycopg.connect(section_env["DATABASE_URL"], autocommit=True) as conn:
        conn.execute(RAW_TABLE_DDL)


def bench_append(config: BenchConfig, servers: Servers, results: Results) -> None:
    section = servers.section("append")
    most = max(config.writers)
    skus = [f"BENCH-W{i}" for i in range(most)]
    _register(section.env, skus)
    pool = WriterPool(most, section.env)
    try:
        pool.run("app", skus, WARMUP_SECONDS)
        pool.run("raw", skus, WARMUP_SECONDS)
        for run in range(config.runs):
            for writers in config.writers:
                app = pool.run("app", skus[:writers], config.append_seconds)
                raw = pool.run("raw", skus[:writers], config.append_seconds)
                _record(results, writers, app, raw)
                log(
                    f"append run {run + 1} {writers}w: app {rate(app):,.0f}/s "
                    f"raw {rate(raw):,.0f}/s"
                )
    finally:
        pool.close()
    for writers in config.writers:
        suffix = f"{writers}w"
        results.summarize(f"append_per_s_{suffix}")
        results.summarize(f"raw_insert_per_s_{suffix}")
        results.summarize(f"append_ratio_{suffix}")
        results.summarize(f"append_p50_ms_{suffix}")
        results.summarize(f"append_p99_ms_{suffix}")
        results.summarize(f"raw_insert_p99_ms_{suffix}")


def _record(results: Results, writers: int, app: list[LoopResult], raw: list[LoopResult]) -> None:
    suffix = f"{writers}w"
    app_rate, raw_rate = rate(app), rate(raw)
    app_latency = latency_summary([s for r in app for s in r.latencies])
    raw_latency = latency_summary([s for r in raw for s in r.latencies])
    results.add(f"append_per_s_{suffix}", app_rate)
    results.add(f"raw_insert_per_s_{suffix}", raw_rate)
    results.add(f"append_ratio_{suffix}", ratio(app_rate, raw_rate))
    results.add(f"append_p50_ms_{suffix}", app_latency["p50_ms"])
    results.add(f"append_p99_ms_{suffix}", app_latency["p99_ms"])
    results.add(f"raw_insert_p99_ms_{suffix}", raw_latency["p99_ms"])
