"""Product search over 10k products x 3 variants: `GET /api/v1/products/search` through the
real API (p50/p95/p99, one client and four), and the search adapter alone (no HTTP); and
suggestions while typing, `GET /api/v1/products/suggest` (section `suggest`).

Each product is a `Product` with three variants (sizes P, M, G: same words, prices a little
apart), filed under one of seven categories of a tree (children of `loja`), so the index
holds 30k documents (one per variant) carrying the product's category path and score, as
the search projector folds them. Queries mix the forgiving features: folded filters,
sorts, `in_stock`, price ranges (every answer counts them)."""

from __future__ import annotations

import time
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode
from uuid import UUID

from application.services import Services
from bench.config import BenchConfig
from bench.http import loadgen, running, token
from bench.report import Results, log
from bench.seed import CATEGORIES, CERTIFICATIONS, chunks, product
from bench.servers import Servers
from bench.stats import latency_summary
from domain.base import EcoAggregate, EventMetadata, event_context
from domain.category import CategoryTree
from domain.money import Money
from domain.product import Product, SustainabilityProfile, Variant
from domain.stock_item import StockItem
from infrastructure.bootstrap import REDIS_PROJECTIONS, Container, bootstrap
from infrastructure.read_stores.projection_admin import rebuild

SEARCH_PATH = "/api/v1/products/search"
SUGGEST_PATH = "/api/v1/products/suggest"
SEARCH_PROJECTION = "product_search"
VARIANTS = ("P", "M", "G")
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
    {"q": "CAMISETA", "sort": "price_asc"},
    {"q": "camisa", "in_stock": "true"},  # a synonym of camiseta
    {"category": "ESCRITÓRIO", "sort": "newest"},
    {"certification": "organico brasil", "sort": "footprint", "in_stock": "true"},
    {"q": "copo", "sort": "price_desc", "page": "3"},
    {"sort": "score", "size": "50"},
]
# What a shopper has typed so far: prefixes, later words, and one typo.
SUGGESTIONS = [
    "g",
    "gar",
    "garrafa",
    "camis",
    "camisteta",
    "org",
    "organico",
    "bambu",
    "sabonte",
    "moch",
    "cadrno",
    "toalha l",
    "vela",
    "biodegradavel",
]


def search_wired(container: Container) -> str | None:
    """None if the search endpoint is routed and has a store; else why not."""
    from api.http.routers import API_ROUTERS

    routed = any(
        getattr(route, "path", "").endswith("/products/search")
        for router in API_ROUTERS
        for route in router.routes
    )
    if not routed:
        return "GET /api/v1/products/search is not routed (api/http/routers/__init__.py)"
    if getattr(container, "search", None) is None:
        return "the container has no search store (infrastructure/bootstrap.py)"
    return None


def paths() -> list[str]:
    return [f"{SEARCH_PATH}?{urlencode(q)}" if q else SEARCH_PATH for q in QUERIES]


def suggest_paths() -> list[str]:
    return [f"{SUGGEST_PATH}?{urlencode({'q': q})}" for q in SUGGESTIONS]


def variant(i: int, size: int, product_id: UUID) -> StockItem:
    """Size `VARIANTS[size]` of product `i`: the product's words, its own SKU and price."""
    base = product(i)
    return StockItem.register(
        sku=f"{base.sku}-{VARIANTS[size]}",
        name=f"{base.name} {VARIANTS[size]}",
        description=base.description,
        category=base.category,
        price=Money.brl(str(base.price.amount + size * 5)),
        initial_quantity=(base.on_hand + size) % 50,
        sustainability=base.sustainability,
        product_id=product_id,
    )


def with_variants(i: int, categories: dict[str, UUID]) -> list[EcoAggregate]:
    """Product `i` and the stock items of its three variants."""
    base = product(i)
    made = Product.create(
        slug=f"bench-p{i:06d}",
        name=base.name,
        description=base.description,
        category_id=categories[base.category],
        option_names=("tamanho",),
        variants=tuple(Variant(f"{base.sku}-{size}", (("tamanho", size),)) for size in VARIANTS),
        profile=SustainabilityProfile(
            base.sustainability.carbon_footprint_kg,
            100 if base.sustainability.recyclable else 0,
            "unknown",
        ),
    )
    return [made, *(variant(i, size, made.id) for size in range(len(VARIANTS)))]


def seed_variants(services: Services, products: int) -> int:
    """A category tree and `products` products x 3 variants, saved a hundred aggregates per
    transaction; the number of variants (index documents)."""
    tree = CategoryTree.start()
    tree.add("loja", "Loja")
    categories = {slug: tree.add(slug, slug.capitalize(), "loja") for slug in CATEGORIES}
    aggregates: list[EcoAggregate] = [tree]
    for i in range(products):
        aggregates += with_variants(i, categories)
    with event_context(EventMetadata("system:bench", "bench-seed", "bench")):
        for chunk in chunks(aggregates):
            services.store.save(*chunk)
    return products * len(VARIANTS)


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
    if name == "in_stock":
        return value == "true"
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


def _suggest_adapter(container: Container, results: Results, config: BenchConfig) -> None:
    from projections.search import SuggestQuery, active_index

    assert container.search is not None
    queries = [SuggestQuery(q=q) for q in SUGGESTIONS]
    timings: list[float] = []
    for i in range(config.search_queries):
        started = time.perf_counter()
        active_index(container.search).suggest(queries[i % len(queries)])
        timings.append(time.perf_counter() - started)
    summary = latency_summary(timings)
    for p in ("p50", "p95", "p99"):
        results.set(f"suggest_adapter_{p}_ms", summary[f"{p}_ms"])


def _http(
    system: Any,
    config: BenchConfig,
    results: Results,
    runs: list[tuple[str, int]],
    targets: list[str],
) -> None:
    for key, concurrency in runs:
        for run in range(config.runs):
            answer = loadgen(
                {
                    "scenario": "get",
                    "base_url": system.base_url,
                    "concurrency": concurrency,
                    "paths": targets,
                    "tokens": [token("bench-shopper", "customer")],
                    "seconds": 60,
                    "max_requests": config.search_queries,
                    "warmup_requests": len(targets),
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


def _seeded(name: str, config: BenchConfig, servers: Servers, results: Results) -> Any:
    """A section's database with the catalog seeded and indexed; None if search is not
    wired (recorded)."""
    section = servers.section(name)
    container = bootstrap(section.settings())
    try:
        documents = seed_variants(container.services, config.products)
        results.set(f"{name}_products", config.products)
        results.set(f"{name}_documents", documents)
        reason = search_wired(container)
        if reason is not None:
            results.set(f"{name}_p95_ms_missing", f"not measured: {reason}")
            return None, None
        _index(container, results)
        if name == "search":
            _adapter(container, results, config)
        else:
            _suggest_adapter(container, results, config)
    finally:
        container.close()
    return section, documents


def bench_search(config: BenchConfig, servers: Servers, results: Results) -> None:
    section, _ = _seeded("search", config, servers, results)
    if section is None:
        return
    runs = [("search", 1), ("search_load", config.search_concurrency)]
    with running(section, workers=1) as system:
        system.caught_up()
        _http(system, config, results, runs, paths())


def bench_suggest(config: BenchConfig, servers: Servers, results: Results) -> None:
    section, _ = _seeded("suggest", config, servers, results)
    if section is None:
        return
    runs = [("suggest", 1), ("suggest_load", config.search_concurrency)]
    with running(section, workers=1) as system:
        system.caught_up()
        _http(system, config, results, runs, suggest_paths())
