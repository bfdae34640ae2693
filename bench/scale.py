"""Scale-out figures: checkouts per second with 1 and 2 worker processes sharing one
database (the leases split the followers between them), with the CPU each checkout costs;
and the first command on a stock item with a long history (100k events; 5k with
BENCH_QUICK) in a fresh process, which reads the item from its latest snapshot.

Checkout: one API process (uvicorn, 1 worker), N `ecovarejo worker` processes, the load
generator with 8 concurrent customers each checking out on its own SKU, every order
followed until the read model says `confirmed`.

Cold command: the history is appended in saves of 1,000 events (snapshots are taken as in
production, every 200 events); then a new Python process bootstraps (not timed), serves one
command on another SKU (a replica that has just started taking traffic) and times the
first `get` of the hot item, the first reservation on it (get -> reserve -> save, what the
saga does) and, for comparison, a replay of the whole history without the snapshot. A
second new process times the reservation as its very first command (one-time costs of the
process — prepared statements, type adapters, pool — included)."""

from __future__ import annotations

import multiprocessing as mp
import time
from multiprocessing.connection import Connection
from typing import Any
from uuid import uuid4

from bench.config import BenchConfig
from bench.http import loadgen, token
from bench.processes import Managed, free_port, start, start_api, wait_healthy
from bench.report import Results, log
from bench.seed import register
from bench.servers import Section, Servers
from bench.stats import latency_summary
from infrastructure.bootstrap import bootstrap
from infrastructure.runtime.followers import runners_for
from infrastructure.runtime.runners import lease_holders

COLD_SKU = "BENCH-HOT-1"
WARM_SKU = "BENCH-WARM-1"
SAVE_EVERY = 1_000


def bench_scale(config: BenchConfig, servers: Servers, results: Results) -> None:
    for workers in (1, 2):
        _checkouts(config, servers.section(f"scale{workers}"), results, workers)


def bench_cold(config: BenchConfig, servers: Servers, results: Results) -> None:
    _cold_command(config, servers.section("cold"), results)


def _checkouts(config: BenchConfig, section: Section, results: Results, workers: int) -> None:
    container = bootstrap(section.settings())
    procs = [start(f"worker-{i}", ["-m", "api.cli", "worker"], section) for i in range(workers)]
    port = free_port()
    api = start_api(section, 1, port)
    try:
        base_url = f"http://127.0.0.1:{port}"
        wait_healthy(api, base_url)
        _wait_for_leases(container, workers)
        skus = [f"BENCH-S{i}" for i in range(config.checkout_concurrency)]
        register(container, skus, quantity=1_000_000)
        if not container.wait_for_projections(container.head_position(), 120):
            raise RuntimeError("projections did not catch up")
        for run in range(config.runs):
            cpu = _cpu(procs), api.cpu_seconds()
            answer = _checkout(base_url, config, skus)
            count = max(answer["count"], 1)
            worker_cpu = (_cpu(procs) - cpu[0]) * 1000 / count
            api_cpu = (api.cpu_seconds() - cpu[1]) * 1000 / count
            latency = latency_summary(answer["latencies"])
            suffix = f"{workers}wp"
            results.add(f"checkouts_per_s_{suffix}", answer["per_s"])
            results.add(f"checkout_p95_ms_{suffix}", latency["p95_ms"])
            results.add(f"checkout_worker_cpu_ms_{suffix}", worker_cpu)
            results.add(f"checkout_api_cpu_ms_{suffix}", api_cpu)
            results.add(
                f"checkouts_not_confirmed_{suffix}",
                answer["count"] - answer["statuses"].get("confirmed", 0),
            )
            log(
                f"scale run {run + 1}, {workers} worker process(es): "
                f"{answer['per_s']:.1f} checkouts/s, p95 {latency['p95_ms']:.0f} ms, CPU per "
                f"checkout: workers {worker_cpu:.1f} ms, API {api_cpu:.1f} ms"
            )
    finally:
        api.stop()
        for proc in procs:
            proc.stop()
        container.close()
    for key in (
        "checkouts_per_s",
        "checkout_p95_ms",
        "checkout_worker_cpu_ms",
        "checkout_api_cpu_ms",
        "checkouts_not_confirmed",
    ):
        results.summarize(f"{key}_{workers}wp")


def _checkout(base_url: str, config: BenchConfig, skus: list[str]) -> dict[str, Any]:
    """The http section's checkout scenario: 8 customers, each on its own SKU."""
    concurrency = config.checkout_concurrency
    return loadgen(
        {
            "scenario": "checkout",
            "base_url": base_url,
            "concurrency": concurrency,
            "skus": skus,
            "tokens": [token(f"bench-customer-{i}", "customer") for i in range(concurrency)],
            "seconds": 300,
            "max_requests": config.checkout_under_load,
            "warmup_requests": 2 * concurrency,
            "warmup_s": 60,
            "order_wait_s": config.order_wait_s,
        }
    )


def _cpu(procs: list[Managed]) -> float:
    return sum(p.cpu_seconds() for p in procs)


def _wait_for_leases(container: Any, workers: int, timeout: float = 60) -> None:
    """Until the workers share the runners this configuration runs (a lease is a
    runner's: `read_models` holds every Redis read model; without a broker there is no
    integration-event publisher)."""
    runners = [runner.name for runner in runners_for(container)]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        held = lease_holders(container.database_url, runners)
        if len(held) == len(runners) and len(set(held.values())) == workers:
            return
        time.sleep(0.2)
    raise RuntimeError(f"the {workers} workers did not share the followers in {timeout}s")


def _cold_command(config: BenchConfig, section: Section, results: Results) -> None:
    container = bootstrap(section.settings())
    try:
        register(container, [COLD_SKU, WARM_SKU])
        _append_history(container, config.seed_events)
    finally:
        container.close()
    for run in range(config.runs):
        figures = {
            **_in_fresh_process(section.env, warm=True),
            **_in_fresh_process(section.env, warm=False),
        }
        for key, value in figures.items():
            results.add(key, value)
        log(
            f"cold run {run + 1} ({config.seed_events:,} events on one SKU): first get "
            f"{figures['cold_get_ms']:.1f} ms, first reservation "
            f"{figures['cold_reserve_ms']:.1f} ms (as the process's very first command "
            f"{figures['cold_reserve_first_in_process_ms']:.1f} ms), replay without snapshot "
            f"{figures['cold_replay_no_snapshot_ms']:.0f} ms"
        )
    results.set("cold_history_events", config.seed_events)
    for key in (
        "cold_get_ms",
        "cold_reserve_ms",
        "cold_reserve_first_in_process_ms",
        "cold_replay_no_snapshot_ms",
    ):
        results.summarize(key)


def _append_history(container: Any, events: int) -> None:
    from domain.base import EventMetadata, event_context
    from domain.stock_item import StockItem

    services = container.services
    item_id = StockItem.create_id(COLD_SKU)
    started = time.monotonic()
    with event_context(EventMetadata("admin:bench", "bench-setup", "bench")):
        item = services.store.repository.get(item_id)
        while item.version < events:
            for _ in range(min(SAVE_EVERY, events - item.version)):
                item.receive(1)
            services.store.save(item)
    log(f"cold: {events:,} events on {COLD_SKU} in {time.monotonic() - started:.1f}s")


def _in_fresh_process(env: dict[str, str], *, warm: bool) -> dict[str, float]:
    context = mp.get_context("spawn")
    parent, child = context.Pipe()
    process = context.Process(target=_measure, args=(child, env, warm), daemon=True)
    process.start()
    try:
        deadline = time.monotonic() + 600
        while not parent.poll(1):
            if not process.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the fresh process died or did not answer")
        answer: dict[str, float] = parent.recv()
        return answer
    finally:
        process.join(30)


def _measure(pipe: Connection, env: dict[str, str], warm: bool) -> None:
    from eventsourcing.application import project_aggregate

    from domain.base import EventMetadata, event_context
    from domain.stock_item import StockItem
    from infrastructure.bootstrap import bootstrap
    from infrastructure.settings import Settings

    container = bootstrap(Settings(**env))  # type: ignore[arg-type]
    try:
        services = container.services
        item_id = StockItem.create_id(COLD_SKU)
        figures: dict[str, float] = {}
        with event_context(EventMetadata("admin:bench", "bench", "bench")):
            if not warm:  # the very first command of the process: every one-time cost in it
                before = time.perf_counter()
                item = services.store.repository.get(item_id)
                item.reserve(uuid4(), 1)
                services.store.save(item)
                pipe.send({"cold_reserve_first_in_process_ms": _ms(before)})
                return
            services.catalog.receive_stock(
                WARM_SKU, 1
            )  # a process that has served one other command
            before = time.perf_counter()
            services.store.repository.get(item_id)
            figures["cold_get_ms"] = _ms(before)
            services.store.repository.cache.clear()  # the reservation reads cold as well
            before = time.perf_counter()
            item = services.store.repository.get(item_id)
            item.reserve(uuid4(), 1)
            services.store.save(item)
            figures["cold_reserve_ms"] = _ms(before)
        before = time.perf_counter()
        project_aggregate(None, services.store.repository.event_store.get(item_id))
        figures["cold_replay_no_snapshot_ms"] = _ms(before)
        pipe.send(figures)
    finally:
        container.close()


def _ms(since: float) -> float:
    return (time.perf_counter() - since) * 1000
