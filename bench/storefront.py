"""The storefront's server time (issue 30): home, search, product and cart pages under wrk,
p50 and p95, beside a bare FastAPI route measured in the same run (`bench/bare.py`), as
ratios. Few connections (4), so the latency is the server's time, not a queue's; the cart
carries a basket cookie (priced from the event store on every view, as a shopper's is).
`BENCH_ONLY=storefront python -m bench`."""

from __future__ import annotations

import dataclasses
import functools
import subprocess
import tempfile
from pathlib import Path

from bench.config import BenchConfig
from bench.http import running
from bench.processes import bare_app
from bench.reads import THREADS, require_wrk
from bench.report import Results, log
from bench.seed import seed_products
from bench.servers import Section, Servers
from bench.stats import ratio
from infrastructure.bootstrap import bootstrap
from infrastructure.read_stores.projection_admin import rebuild
from infrastructure.runtime.followers import READ_MODELS

CONNECTIONS = 4
# wrk prints its own percentiles without p95: the script asks the histogram for both.
PERCENTILES = """
done = function(summary, latency, requests)
  io.write(string.format("P50 %d\\nP95 %d\\nREQUESTS %d\\nERRORS %d\\n",
    latency:percentile(50), latency:percentile(95), summary.requests,
    summary.errors.status + summary.errors.timeout))
end
"""
PAGES = ("home", "search", "product", "cart")


@functools.cache
def _script() -> str:
    """wrk's Lua script, written once per run (wrk reads it from a file)."""
    path = Path(tempfile.mkdtemp(prefix="bench-wrk-")) / "percentiles.lua"
    path.write_text(PERCENTILES)
    return str(path)


def server_time(url: str, seconds: float, headers: dict[str, str]) -> dict[str, float]:
    """p50 and p95 in ms and the count of bad answers, from one wrk run."""
    argv = [require_wrk(), f"-t{THREADS}", f"-c{CONNECTIONS}", f"-d{max(1, round(seconds))}s"]
    for name, value in headers.items():
        argv += ["-H", f"{name}: {value}"]
    out = subprocess.run(
        [*argv, "-s", _script(), url], capture_output=True, text=True, check=True
    ).stdout
    figures = dict(
        line.split(" ", 1) for line in out.splitlines() if line[:3] in ("P50", "P95", "REQ", "ERR")
    )
    return {
        "p50_ms": int(figures["P50"]) / 1000,
        "p95_ms": int(figures["P95"]) / 1000,
        "errors": float(figures["ERRORS"]),
    }


def _measure(results: Results, key: str, url: str, seconds: float, headers: dict[str, str]) -> None:
    server_time(url, 1, headers)  # warm-up
    answer = server_time(url, seconds, headers)
    for figure, value in answer.items():
        results.add(f"storefront_{key}_{figure}", value)
    log(
        f"storefront {key}: p50 {answer['p50_ms']:.2f} ms p95 {answer['p95_ms']:.2f} ms, "
        f"errors {answer['errors']:.0f}"
    )


def _bare(section: Section, seconds: float, results: Results) -> None:
    with bare_app(section) as base:
        _measure(results, "bare", f"{base}/bare", seconds, {})


def bench_storefront(config: BenchConfig, servers: Servers, results: Results) -> None:
    require_wrk()
    section = dataclasses.replace(
        servers.section("storefront"), extra=(("ECOVAREJO_RATELIMIT_ENABLED", "false"),)
    )
    container = bootstrap(section.settings())
    try:
        items = seed_products(container.services, 200 if config.quick else 1_000)
        for name in (*READ_MODELS, "product_search"):
            rebuild(container, name)
    finally:
        container.close()
    sku = items[0].sku
    basket = {"Cookie": f"ev_shop_basket={items[0].sku}*2|{items[1].sku}*1~~01310-100"}
    paths = {
        "home": ("/loja", {}),
        "search": ("/loja/busca?q=garrafa", {}),
        "product": (f"/loja/produto/{sku}", {}),
        "cart": ("/loja/carrinho", basket),
    }
    seconds = 3.0 if config.quick else 8.0
    for run in range(config.runs):
        log(f"storefront run {run + 1}")
        _bare(section, seconds, results)
        with running(section, workers=1) as system:
            system.caught_up()
            for page, (path, headers) in paths.items():
                _measure(results, page, system.base_url + path, seconds, headers)
    for key in ("bare", *PAGES):
        for figure in ("p50_ms", "p95_ms", "errors"):
            results.summarize(f"storefront_{key}_{figure}")
    for page in PAGES:
        for figure in ("p50_ms", "p95_ms"):
            results.set(
                f"storefront_{page}_{figure}_ratio",
                ratio(
                    results.get(f"storefront_{page}_{figure}"),
                    results.get(f"storefront_bare_{figure}"),
                ),
            )
    log(
        "storefront p95 (ms): "
        + ", ".join(f"{p} {results.get(f'storefront_{p}_p95_ms'):.1f}" for p in PAGES)
        + f"; bare {results.get('storefront_bare_p95_ms'):.2f}"
    )
