"""Issue 23's read figures, beside `bench/reads.py`'s: the second baseline (a plain FastAPI
+ redis.asyncio route, `bench/plain.py`), anonymous catalog reads (a storefront's), a 304,
search with the results cache warm (one URL again and again) and cold (every request a
query never asked before), and the derived command figures (API CPU per command, p99 next
to the trivial route's). All with wrk, 32 connections, in the same minute as the bare route."""

from __future__ import annotations

import dataclasses
import tempfile
from collections.abc import Callable
from pathlib import Path

import redis

from bench.processes import free_port, start, wait_healthy
from bench.report import Results, log
from bench.servers import Section
from bench.stats import ratio
from infrastructure.read_stores.redis_views import active_generation
from projections.catalog import public_stock_key

SEARCH_WARM = "/api/v1/products/search?q=garrafa"
# Each request a new price floor: never in the cache (and each one stored: the miss's cost).
COLD_SCRIPT = """
counter = 0
request = function()
  counter = counter + 1
  local floor = string.format("%d.%02d", math.floor(counter / 100), counter % 100)
  return wrk.format("GET", "/api/v1/products/search?q=garrafa&min_price=" .. floor)
end
"""
LEAN_KEYS = (
    "plain",
    "stock_item",
    "stock_item_signed_in",
    "not_modified",
    "search",
    "search_cold",
)


def cold_script() -> str:
    """A wrk script asking a different search each time (the price floor rises by one
    centavo a request: the same products, a query never asked; computed, then cached)."""
    path = Path(tempfile.mkdtemp(prefix="bench-wrk-")) / "cold.lua"
    path.write_text(COLD_SCRIPT)
    return str(path)


def plain_baseline(section: Section, sku: str, seconds: float, results: Results) -> None:
    from bench.reads import measure  # bench.reads imports this module

    client = redis.Redis.from_url(section.redis_url)
    try:
        generation = active_generation(client, "stock_items")
    finally:
        client.close()
    key = f"ev:stock_items:{generation}:{public_stock_key(sku)}"
    plain_section = dataclasses.replace(section, extra=(*section.extra, ("BENCH_PLAIN_KEY", key)))
    port = free_port()
    argv = ["-m", "bench.serve", "--port", str(port), "--app", "bench.plain:create_plain_app"]
    plain = start("plain", argv, plain_section)
    try:
        base = f"http://127.0.0.1:{port}"
        wait_healthy(plain, base)
        measure(results, "plain", f"{base}/plain", seconds, {})
    finally:
        plain.stop()


def lean_reads(
    base: str,
    sku: str,
    seconds: float,
    auth: dict[str, str],
    results: Results,
    api_cpu: Callable[[], float] | None = None,
) -> None:
    """Through the real app: anonymous and signed-in stock item, a 304, search warm and
    cold (anonymous, the storefront's case; with `api_cpu`, the API's CPU per search)."""
    import httpx

    from bench.reads import measure

    item = f"{base}/api/v1/stock-items/{sku}"
    measure(results, "stock_item", item, seconds, {})
    measure(results, "stock_item_signed_in", item, seconds, auth)
    etag = httpx.get(item).headers["etag"]
    measure(results, "not_modified", item, seconds, {"If-None-Match": etag})
    measure(results, "search", f"{base}{SEARCH_WARM}", seconds, {}, cpu=api_cpu)
    measure(results, "search_cold", base, seconds, {}, script=cold_script(), cpu=api_cpu)


def summarize_lean(results: Results) -> None:
    for key in LEAN_KEYS:
        for figure in ("rps", "p99_ms", "errors"):
            results.summarize(f"reads_{key}_{figure}")
    for key in ("search", "search_cold"):
        if results.samples.get(f"reads_{key}_api_cpu_ms"):
            results.summarize(f"reads_{key}_api_cpu_ms")
    bare = results.get("reads_bare_rps")
    for key in LEAN_KEYS:
        if key != "plain":
            results.set(f"reads_{key}_ratio", ratio(results.get(f"reads_{key}_rps"), bare))
    results.set("reads_plain_ratio", ratio(results.get("reads_plain_rps"), bare))
    results.set(
        "reads_stock_item_plain_ratio",
        ratio(results.get("reads_stock_item_rps"), results.get("reads_plain_rps")),
    )
    # The command figures of the `http` section, next to its trivial route (when it ran).
    results.set(
        "http_command_p99_ratio_1w",
        ratio(results.get("http_command_p99_ms_1w"), results.get("http_noop_p99_ms_1w")),
    )
    log(
        "reads: stock item {:.2f} of bare, {:.2f} of plain; search warm {:.2f}, cold {:.2f}; "
        "304 {:.2f}".format(
            results.get("reads_stock_item_ratio"),
            results.get("reads_stock_item_plain_ratio"),
            results.get("reads_search_ratio"),
            results.get("reads_search_cold_ratio"),
            results.get("reads_not_modified_ratio"),
        )
    )
