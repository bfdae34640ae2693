"""HTTP figures: a command (stock receipt) against a trivial route on the same server, with
1 and 2 uvicorn workers; checkout end to end (POST checkout -> order confirmed in the read
model); the peak memory of the API and worker processes meanwhile.

The system runs as in production: the API under uvicorn (the real app, plus the trivial
route from `bench.app`) and `ecovarejo worker` (saga, projectors, actors) as separate
processes; the load generator is a third process (`bench.loadgen`)."""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from api.http.auth import issue_token
from bench.app import NOOP_PATH
from bench.config import BenchConfig
from bench.processes import Managed, RssSampler, free_port, start_api, start_worker, wait_healthy
from bench.report import Results, log
from bench.seed import register
from bench.servers import JWT_SECRET, Section, Servers
from bench.stats import latency_summary, ratio
from infrastructure.bootstrap import Container, bootstrap

LOADGEN_TIMEOUT_S = 600
RECEIPT = {"quantity": 1}
HTTP_FIGURES = ("rps", "p50_ms", "p95_ms", "p99_ms", "errors", "api_cpu_ms", "worker_cpu_ms")


def token(sub: str, role: str) -> str:
    return issue_token(JWT_SECRET, sub, role, 3600)  # type: ignore[arg-type]


def loadgen(spec: dict[str, Any], timeout: float = LOADGEN_TIMEOUT_S) -> dict[str, Any]:
    """Run the load generator in its own process; its JSON answer."""
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as spec_file:
        json.dump(spec, spec_file)
    try:
        done = subprocess.run(
            [sys.executable, "-m", "bench.loadgen", spec_file.name],
            capture_output=True,
            timeout=timeout,
            check=True,
            cwd=Path(__file__).resolve().parent.parent,
        )
    finally:
        Path(spec_file.name).unlink(missing_ok=True)
    answer: dict[str, Any] = json.loads(done.stdout)
    return answer


@dataclass
class System:
    """The API and the worker of one section, up and healthy."""

    section: Section
    container: Container  # for setup and for watching the read models
    api: Managed
    worker: Managed
    base_url: str

    def caught_up(self, timeout: float = 120) -> None:
        if not self.container.wait_for_projections(self.container.head_position(), timeout):
            raise RuntimeError(f"projections did not catch up:\n{self.worker.tail()}")


@contextmanager
def running(section: Section, workers: int) -> Iterator[System]:
    container = bootstrap(section.settings())
    worker = start_worker(section)
    port = free_port()
    api = start_api(section, workers, port)
    try:
        base_url = f"http://127.0.0.1:{port}"
        wait_healthy(api, base_url)
        yield System(section, container, api, worker, base_url)
    finally:
        api.stop()
        worker.stop()
        container.close()


def _post(
    base_url: str, config: BenchConfig, paths: list[str], concurrency: int | None = None
) -> dict[str, Any]:
    """Closed-loop POSTs: `concurrency` clients (default: the configured one)."""
    clients = concurrency or config.http_concurrency
    return loadgen(
        {
            "scenario": "post",
            "base_url": base_url,
            "concurrency": clients,
            "paths": paths,
            "body": RECEIPT,
            "tokens": [token("bench-admin", "admin")],
            "seconds": config.http_seconds if clients > 1 else config.http_seconds / 2,
            "max_requests": config.http_max_requests,
            "warmup_requests": 50,
        }
    )


def _measured_post(system: System, config: BenchConfig, paths: list[str]) -> dict[str, Any]:
    """The load, and the CPU the API and the worker spent per request meanwhile."""
    api, worker = system.api.cpu_seconds(), system.worker.cpu_seconds()
    answer = _post(system.base_url, config, paths)
    count = max(answer["count"], 1)
    answer["api_cpu_ms"] = (system.api.cpu_seconds() - api) * 1000 / count
    answer["worker_cpu_ms"] = (system.worker.cpu_seconds() - worker) * 1000 / count
    return answer


def _record_post(results: Results, name: str, suffix: str, answer: dict[str, Any]) -> None:
    latency = latency_summary(answer["latencies"])
    results.add(f"http_{name}_rps_{suffix}", answer["per_s"])
    for p in ("p50", "p95", "p99"):
        results.add(f"http_{name}_{p}_ms_{suffix}", latency[f"{p}_ms"])
    bad = sum(n for status, n in answer["statuses"].items() if not status.startswith("2"))
    results.add(f"http_{name}_errors_{suffix}", bad)
    results.add(f"http_{name}_api_cpu_ms_{suffix}", answer["api_cpu_ms"])
    results.add(f"http_{name}_worker_cpu_ms_{suffix}", answer["worker_cpu_ms"])


def bench_commands(system: System, config: BenchConfig, results: Results, workers: int) -> None:
    suffix = f"{workers}w"
    for run in range(config.runs):
        # Fresh SKUs each run: every run starts from aggregates of the same length.
        skus = [f"BENCH-H{run}-{i}" for i in range(config.http_concurrency)]
        register(system.container, skus)
        system.caught_up()
        noop = _measured_post(system, config, [NOOP_PATH])
        receipts = [f"/api/v1/stock-items/{s}/receipts" for s in skus]
        command = _measured_post(system, config, receipts)
        alone = _post(system.base_url, config, receipts[:1], concurrency=1)
        _record_post(results, "noop", suffix, noop)
        _record_post(results, "command", suffix, command)
        for p, seconds in latency_summary(alone["latencies"]).items():
            results.add(f"http_command_c1_{p}_{suffix}", seconds)
        results.add(f"http_command_rps_ratio_{suffix}", ratio(command["per_s"], noop["per_s"]))
        log(
            f"http {suffix} run {run + 1}: noop {noop['per_s']:,.0f}/s "
            f"p99 {latency_summary(noop['latencies'])['p99_ms']:.1f} ms; command "
            f"{command['per_s']:,.0f}/s p99 {latency_summary(command['latencies'])['p99_ms']:.1f}"
            f" ms {command['statuses']}"
        )
    for name in ("noop", "command"):
        for figure in HTTP_FIGURES:
            results.summarize(f"http_{name}_{figure}_{suffix}")
    for p in ("p50_ms", "p99_ms"):
        results.summarize(f"http_command_c1_{p}_{suffix}")
    results.summarize(f"http_command_rps_ratio_{suffix}")


def _checkout(
    system: System, config: BenchConfig, concurrency: int, count: int, skus: list[str]
) -> dict[str, Any]:
    return loadgen(
        {
            "scenario": "checkout",
            "base_url": system.base_url,
            "concurrency": concurrency,
            "skus": skus,
            "tokens": [token(f"bench-customer-{i}", "customer") for i in range(concurrency)],
            "seconds": 300,
            "max_requests": count,
            "warmup_requests": 2 * concurrency,
            "warmup_s": 60,
            "order_wait_s": config.order_wait_s,
        }
    )


def bench_checkout(system: System, config: BenchConfig, results: Results) -> None:
    skus = [f"BENCH-C{i}" for i in range(config.checkout_concurrency)]
    register(system.container, skus, quantity=1_000_000)
    system.caught_up()
    for run in range(config.runs):
        for key, concurrency, count in (
            ("checkout", 1, config.checkout_sequential),
            ("checkout_load", config.checkout_concurrency, config.checkout_under_load),
        ):
            answer = _checkout(system, config, concurrency, count, skus)
            latency = latency_summary(answer["latencies"])
            for p in ("p50", "p95", "p99"):
                results.add(f"{key}_{p}_ms", latency[f"{p}_ms"])
            results.add(f"{key}_per_s", answer["per_s"])
            log(
                f"{key} run {run + 1}: {answer['count']} in {answer['seconds']:.1f}s "
                f"p50 {latency['p50_ms']:.0f} p95 {latency['p95_ms']:.0f} ms {answer['statuses']}"
            )
            results.add(
                f"{key}_not_confirmed", answer["count"] - answer["statuses"].get("confirmed", 0)
            )
    for key in ("checkout", "checkout_load"):
        for figure in ("p50_ms", "p95_ms", "p99_ms", "per_s", "not_confirmed"):
            results.summarize(f"{key}_{figure}")


def bench_stock_uvicorn(
    system: System, config: BenchConfig, results: Results, workers: int
) -> None:
    """The trivial route once more, under uvicorn's own multi-worker socket binding."""
    port = free_port()
    api = start_api(system.section, workers, port, stock=True)
    try:
        base_url = f"http://127.0.0.1:{port}"
        wait_healthy(api, base_url)
        answer = _post(base_url, config, [NOOP_PATH])
    finally:
        api.stop()
    summary = latency_summary(answer["latencies"])
    results.set(f"http_noop_rps_{workers}w_stock_uvicorn", answer["per_s"])
    results.set(f"http_noop_p50_ms_{workers}w_stock_uvicorn", summary["p50_ms"])
    log(
        f"http {workers}w stock uvicorn: noop {answer['per_s']:,.0f}/s "
        f"p50 {summary['p50_ms']:.1f} ms"
    )


def bench_http(config: BenchConfig, servers: Servers, results: Results) -> None:
    api_peaks, per_process, worker_peaks = [], [], []
    for workers in config.http_workers:
        section = servers.section(f"http{workers}")
        with running(section, workers) as system:
            sampler = RssSampler({"api": system.api, "worker": system.worker})
            with sampler.sampling():
                bench_commands(system, config, results, workers)
                if workers == config.http_workers[0]:
                    bench_checkout(system, config, results)
            if workers > 1:
                bench_stock_uvicorn(system, config, results, workers)
        results.set(f"api_peak_rss_mb_{workers}w", sampler.peak_total.get("api"))
        results.set(f"worker_peak_rss_mb_{workers}w", sampler.peak_total.get("worker"))
        api_peaks.append(sampler.peak_total.get("api", 0.0))
        per_process.append(sampler.peak_process.get("api", 0.0))
        worker_peaks.append(sampler.peak_total.get("worker", 0.0))
    results.set("api_peak_rss_mb", max(api_peaks))
    results.set("api_peak_rss_per_process_mb", max(per_process))
    results.set("worker_peak_rss_mb", max(worker_peaks))
    results.set(
        "http_command_p99_ms",
        max(results.get(f"http_command_p99_ms_{w}w") for w in config.http_workers),
    )
