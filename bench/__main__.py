"""`python -m bench`: every section in turn, one table on stdout, bench/results.json."""

from __future__ import annotations

import logging
import os
import platform
import time
from collections.abc import Callable

from bench.append import bench_append
from bench.auth import bench_auth
from bench.config import BenchConfig
from bench.http import bench_http
from bench.images import bench_images
from bench.reads import bench_reads
from bench.readside import bench_readside
from bench.report import Results, log, table
from bench.scale import bench_cold, bench_scale
from bench.search import bench_search, bench_suggest
from bench.servers import Servers, bench_servers
from bench.storefront import bench_storefront

Section = Callable[[BenchConfig, Servers, Results], None]


def _sections() -> dict[str, Section]:
    return {
        "append": bench_append,
        "http": bench_http,
        "reads": bench_reads,
        "readside": bench_readside,
        "search": bench_search,
        "suggest": bench_suggest,
        "scale": bench_scale,
        "cold": bench_cold,
        "auth": bench_auth,
        "images": bench_images,  # issue 28
        "storefront": bench_storefront,
    }


def _machine(servers: Servers) -> dict[str, str | int]:
    model = "?"
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            model = next(
                (ln.split(":", 1)[1].strip() for ln in cpuinfo if ln.startswith("model name")),
                "?",
            )
    except OSError:
        pass
    memory_kb = 0
    try:
        with open("/proc/meminfo") as meminfo:
            memory_kb = int(next(ln for ln in meminfo if ln.startswith("MemTotal")).split()[1])
    except (OSError, StopIteration):
        pass
    return {
        "machine_nproc": os.cpu_count() or 0,
        "machine_memory_mb": memory_kb // 1024,
        "machine_cpu": model,
        "machine_python": platform.python_version(),
        "machine_postgres": servers.postgres_version(),
        "machine_loadavg_start": _loadavg(),
    }


def _loadavg() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def run_sections(config: BenchConfig, servers: Servers, results: Results) -> None:
    """Every section (or those BENCH_ONLY names), each on its own database; one that
    fails is recorded as `<section>_error` and the others still run."""
    wanted = [s for s in os.environ.get("BENCH_ONLY", "").split(",") if s]
    for name, section in _sections().items():
        if wanted and name not in wanted:
            continue
        log(f"section {name} (load average {_loadavg()})")
        results.set(f"machine_loadavg_before_{name}", _loadavg())
        try:
            section(config, servers, results)
        except Exception as error:
            logging.getLogger("bench").exception("section %s failed", name)
            results.set(f"{name}_error", f"{type(error).__name__}: {error}")


def print_report(results: Results) -> None:
    notes = {
        k.removesuffix("_missing"): str(v)
        for k, v in results.figures.items()
        if k.endswith("_missing")
    }
    print(table(results, notes.get))
    for key, value in results.figures.items():
        if key.endswith("_error"):
            print(f"section {key.removesuffix('_error')} failed: {value}")


def main() -> None:
    logging.basicConfig(level=logging.WARNING)
    config = BenchConfig.from_env()
    results = Results()
    results.set("quick", config.quick)
    results.set("runs", config.runs)
    started = time.monotonic()
    with bench_servers() as servers:
        for key, value in _machine(servers).items():
            results.set(key, value)
        run_sections(config, servers, results)
    results.set("machine_loadavg_end", _loadavg())
    results.set("total_seconds", round(time.monotonic() - started, 1))
    results.write(config.results_path)
    print_report(results)
    log(f"wrote {config.results_path}")


if __name__ == "__main__":
    main()
