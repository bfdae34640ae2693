"""Product search over >= 10k products: `GET /api/v1/products/search` through the real
API (p50/p95/p99, one client and several), and the search adapter alone (no HTTP)."""

from __future__ import annotations

import time
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

from bench.config import BenchConfig
from bench.http import loadgen, running, token
from bench.report import Results, log
from bench.seed import CATEGORIES, CERTIFICATIONS, seed_products
from bench.servers import Servers
from bench.stats import latency_summary
from infrastructure.bootstrap import REDIS_PROJECTIONS, Container, bootstrap
from infrastructure.projection_admin import rebuild

SEARCH_PATH = "/api/v1/products/search"
SEARCH_PROJECTION = "product_search"
QUERIES: list[dict[str, str]] = [
    {"q": "garrafa"},
    {"q": "café orgânico"},
    {"q": "bambu escova"},
    {"q": "algodao reciclado"},
    {"q": "vela soja", "category": "casa"},
    {"category": "alimentos"},
    {"certification": "FSC"},
    {"q": "sabonete", "certification": "Vegan"},
    {"min_price": "50.00", "max_price": "120.00"},
    {"q": "mochila", "min_price": "10.00", "page": "2"},
    {"category": CATEGORIES[3], "certification": CERTIFICATIONS[2], "size": "50"},
    {},
]


def search_wired(container: Container) -> str | None:
    """None if the search endpoint is routed and has a store; else why not."""
    from api.routers import API_ROUTERS

    routed = any(
        getattr(route, "path", "").endswith("/products/search")
        for router in API_ROUTERS
        for route in router.routes
    )
    if not routed:
        return "GET /api/v1/products/search is not routed (api/routers/__init__.py)"
    if getattr(container, "search", None) is None:
        return "the container has no search store (infrastructure/bootstrap.py)"
    return None


def paths() -> list[str]:
    return [f"{SEARCH_PATH}?{urlencode(q)}" if q else SEARCH_PATH for q in QUERIES]


def _index(container: Container, results: Results) -> None:
    """Build every read model by rebuilds (batched), so the live runners start caught up."""
    for name in (*REDIS_PROJECTIONS, SEARCH_PROJECTION):
        report = rebuild(container, name)
        if name == SEARCH_PROJECTION:
            results.set("search_rebuild_per_s", report.events_per_s)
            log(f"search index built: {report.events} events, {report.events_per_s:,.0f}/s")


def _typed(name: str, value: str) -> Any:
    if name in ("page", "size"):
        return int(value)
    if name in ("min_price", "max_price"):
        return Decimal(value)
    return value


def _adapter(container: Container, results: Results, config: BenchConfig) -> None:
    """The store's own `search`, no HTTP: what the endpoint costs at least."""
    from projections.search import SearchQuery, active_index

    assert container.search is not None
    queries = [SearchQuery(**{k: _typed(k, v) for k, v in q.items()}) for q in QUERIES]
    by_shape: list[list[float]] = [[] for _ in queries]
    for i in range(config.search_queries):
        started = time.perf_counter()
        active_index(container.search).search(queries[i % len(queries)])
        by_shape[i % len(queries)].append(time.perf_counter() - started)
    summary = latency_summary([s for shape in by_shape for s in shape])
    for p in ("p50", "p95", "p99"):
        results.set(f"search_adapter_{p}_ms", summary[f"{p}_ms"])
    medians = [latency_summary(shape)["p50_ms"] for shape in by_shape]
    slowest = max(range(len(queries)), key=lambda i: medians[i])
    results.set("search_adapter_slowest_query", QUERIES[slowest])
    results.set("search_adapter_slowest_p50_ms", medians[slowest])


def _http(system: Any, config: BenchConfig, results: Results) -> None:
    for key, concurrency in (("search", 1), ("search_load", config.search_concurrency)):
        for run in range(config.runs):
            answer = loadgen(
                {
                    "scenario": "get",
                    "base_url": system.base_url,
                    "concurrency": concurrency,
                    "paths": paths(),
                    "tokens": [token("bench-shopper", "customer")],
                    "seconds": 60,
                    "max_requests": config.search_queries,
                    "warmup_requests": len(QUERIES),
                }
            )
            summary = latency_summary(answer["latencies"])
            for p in ("p50", "p95", "p99"):
                results.add(f"{key}_{p}_ms", summary[f"{p}_ms"])
            results.add(f"{key}_per_s", answer["per_s"])
            log(
                f"{key} run {run + 1}: {answer['per_s']:,.0f}/s p50 {summary['p50_ms']:.1f} "
                f"p95 {summary['p95_ms']:.1f} ms {answer['statuses']}"
            )
            if set(answer["statuses"]) != {"200"}:
                results.set(f"{key}_p95_ms_missing", f"answers {answer['statuses']}")
        for figure in ("p50_ms", "p95_ms", "p99_ms", "per_s"):
            results.summarize(f"{key}_{figure}")


def bench_search(config: BenchConfig, servers: Servers, results: Results) -> None:
    section = servers.section("search")
    container = bootstrap(section.settings())
    try:
        seed_products(container.services, config.products)
        results.set("search_products", config.products)
        reason = search_wired(container)
        if reason is not None:
            results.set("search_p95_ms_missing", f"not measured: {reason}")
            return
        _index(container, results)
        _adapter(container, results, config)
    finally:
        container.close()
    with running(section, workers=1) as system:
        system.caught_up()
        _http(system, config, results)
