"""Catalog reads, the load a storefront makes most, measured with wrk (32 connections,
2 threads, keep-alive): `GET /api/v1/stock-items/{sku}` and `GET /api/v1/products/search`
through the real app (1 uvicorn worker, rate limits off, every middleware on; anonymous, as
a storefront asks, and the stock item also signed in), next to `/health` of the same app, to
a bare FastAPI route (`bench/bare.py`) and to a plain FastAPI + redis.asyncio route
(`bench/plain.py`, via `bench/reads_lean.py`) served the same way in the same minute.
wrk is a C load generator: it costs far less CPU per request than the Python one, so on
2 cores the server, not the client, is what is measured."""

from __future__ import annotations

import dataclasses
import re
import shutil
import subprocess
from collections.abc import Callable

from bench.config import BenchConfig
from bench.http import running, token
from bench.processes import bare_app
from bench.reads_lean import lean_reads, plain_baseline, summarize_lean
from bench.report import Results, log
from bench.seed import seed_products
from bench.servers import Section, Servers
from bench.stats import ratio
from infrastructure.bootstrap import bootstrap
from infrastructure.read_stores.projection_admin import rebuild
from infrastructure.runtime.followers import READ_MODELS

CONNECTIONS = 32
THREADS = 2
_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


def require_wrk() -> str:
    found = shutil.which("wrk")
    if found is None:
        raise RuntimeError("wrk is not installed: `apt-get install wrk` (make bench does it)")
    return found


def wrk(
    url: str,
    seconds: float,
    headers: dict[str, str],
    script: str | None = None,
    connections: int = CONNECTIONS,
) -> dict[str, float]:
    """Requests per second, p99 latency and non-2xx answers of one wrk run."""
    argv = [require_wrk(), f"-t{THREADS}", f"-c{connections}", f"-d{max(1, round(seconds))}s"]
    argv += ["--latency", "--timeout", "10s", *(["-s", script] if script else [])]
    for name, value in headers.items():
        argv += ["-H", f"{name}: {value}"]
    out = subprocess.run([*argv, url], capture_output=True, text=True, check=True).stdout
    rps = re.search(r"Requests/sec:\s+([0-9.]+)", out)
    p99 = re.search(r"^\s+99%\s+([0-9.]+)(us|ms|s)\s*$", out, re.MULTILINE)
    bad = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    if rps is None or p99 is None:
        raise RuntimeError(f"cannot read wrk's answer:\n{out}")
    return {
        "rps": float(rps.group(1)),
        "p99_ms": float(p99.group(1)) * _UNITS[p99.group(2)],
        "errors": float(bad.group(1)) if bad else 0.0,
    }


def measure(
    results: Results,
    key: str,
    url: str,
    seconds: float,
    headers: dict[str, str],
    script: str | None = None,
    cpu: Callable[[], float] | None = None,
) -> None:
    """One wrk run; with `cpu` (the API's CPU seconds so far), also the API's CPU per
    request over the run (`reads_<key>_api_cpu_ms`)."""
    if script is None:  # a scripted run is cold on purpose
        wrk(url, 1, headers)  # warm-up: connections, caches, the first import of anything
    before = cpu() if cpu is not None else 0.0
    answer = wrk(url, seconds, headers, script)
    if cpu is not None:
        requests = answer["rps"] * max(1, round(seconds))
        answer["api_cpu_ms"] = (cpu() - before) * 1000 / requests if requests else 0.0
    for figure, value in answer.items():
        results.add(f"reads_{key}_{figure}", value)
    rps, p99, errors = answer["rps"], answer["p99_ms"], answer["errors"]
    log(f"{key}: {rps:,.0f} req/s p99 {p99:.1f} ms, errors {errors:.0f}")


def _bare(section: Section, seconds: float, results: Results) -> None:
    with bare_app(section) as base:
        measure(results, "bare", f"{base}/bare", seconds, {})


def bench_reads(config: BenchConfig, servers: Servers, results: Results) -> None:
    require_wrk()
    section = dataclasses.replace(
        servers.section("reads"), extra=(("ECOVAREJO_RATELIMIT_ENABLED", "false"),)
    )
    container = bootstrap(section.settings())
    try:
        items = seed_products(container.services, 200 if config.quick else 1_000)
        sku = items[0].sku
        for name in READ_MODELS:
            rebuild(container, name)
    finally:
        container.close()
    seconds = 3.0 if config.quick else 8.0
    auth = {"Authorization": f"Bearer {token('bench-shopper', 'customer')}"}
    for run in range(config.runs):
        log(f"reads run {run + 1}")
        _bare(section, seconds, results)
        plain_baseline(section, sku, seconds, results)
        with running(section, workers=1) as system:
            system.caught_up()
            base = system.base_url
            measure(results, "health", f"{base}/health", seconds, {})
            lean_reads(base, sku, seconds, auth, results, system.api.cpu_seconds)
    for key in ("bare", "health"):
        for figure in ("rps", "p99_ms", "errors"):
            results.summarize(f"reads_{key}_{figure}")
    bare_rps = results.get("reads_bare_rps")
    results.set("reads_health_ratio", ratio(results.get("reads_health_rps"), bare_rps))
    summarize_lean(results)
