"""`python -m bench`: every section in turn, one table on stdout, bench/results.json."""

from __future__ import annotations

import logging
import os
import platform
import time
from collections.abc import Callable

from bench.append import bench_append
from bench.config import BenchConfig
from bench.report import Results, log, table
from bench.servers import Servers, bench_servers

Section = Callable[[BenchConfig, Servers, Results], None]


def _sections() -> dict[str, Section]:
    return {"append": bench_append}


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
        "machine_loadavg_start": " ".join(f"{x:.2f}" for x in os.getloadavg()),
    }


def main() -> None:
    logging.basicConfig(level=logging.WARNING)
    config = BenchConfig.from_env()
    wanted = [s for s in os.environ.get("BENCH_ONLY", "").split(",") if s]
    results = Results()
    results.set("quick", config.quick)
    results.set("runs", config.runs)
    started = time.monotonic()
    with bench_servers() as servers:
        for key, value in _machine(servers).items():
            results.set(key, value)
        for name, section in _sections().items():
            if wanted and name not in wanted:
                continue
            log(f"section {name}")
            try:
                section(config, servers, results)
            except Exception as error:  # one broken section must not lose the others
                logging.getLogger("bench").exception("section %s failed", name)
                results.set(f"{name}_error", f"{type(error).__name__}: {error}")
    results.set("machine_loadavg_end", " ".join(f"{x:.2f}" for x in os.getloadavg()))
    results.set("total_seconds", round(time.monotonic() - started, 1))
    results.write(config.results_path)
    notes = {k.removesuffix("_missing"): str(v) for k, v in results.figures.items()
             if k.endswith("_missing")}
    print(table(results, notes.get))
    log(f"wrote {config.results_path}")


if __name__ == "__main__":
    main()
