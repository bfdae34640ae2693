"""`make soak`: memory that stays flat under a long mixed load (not part of `make test`).

The system as the embedded default runs it: ONE `ecovarejo serve --worker` process (API,
saga, projectors, effects and dramatiq actors in process), on the configured servers or
embedded ones in a temporary directory. For `SOAK_MINUTES` (default 30):

- catalog reads: wrk, 16 connections, `GET /api/v1/stock-items/{sku}` and search, in
  back-to-back runs of `SOAK_WRK_S` seconds (default 60);
- steady checkouts: `SOAK_BUYERS` (default 8) closed-loop buyers, each on its own SKU:
  cart, checkout, then `GET /orders/{id}` until the saga has decided (bench/loadgen.py);
  every confirmed order shipped within about 10 s, as an admin would (`Shipper`);
- the RSS of every process (the server and its children) sampled every `SOAK_SAMPLE_S`
  (default 30) seconds.

At the end: errors (non-2xx reads, checkouts not confirmed), each follower's lag once
the load stops (must reach 0), the stock invariants over the whole log
(tests/checkout.check_invariants), and the RSS growth after warm-up (the first
`SOAK_WARMUP_MIN` minutes, default a fifth of the run): flat means within 5 %. Prints one
JSON document (also written to `SOAK_RESULTS` if set); exit 1 if a check fails.
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time
from pathlib import Path
from typing import Any

import psutil

from bench.http import System, loadgen, token
from bench.processes import MB, free_port, start, wait_healthy
from bench.reads import wrk
from bench.report import log
from bench.seed import register, seed_products
from bench.servers import bench_servers
from infrastructure.bootstrap import bootstrap
from infrastructure.read_stores.projection_admin import statuses

FLAT_WITHIN = 0.05
DECIDED_OK = ("confirmed", "shipped")


def _settled_lags(container: Any, seconds: float = 10.0) -> dict[str, int]:
    """Each follower's lag, once all are at 0 or after `seconds`: the effects dispatcher
    writes its position at most every 0.5 s (and when idle), so right after the read models
    catch up it may still trail by the last half second's events."""
    deadline = time.monotonic() + seconds
    while True:
        lags = {s.name: s.lag for s in statuses(container)}
        if all(lag == 0 for lag in lags.values()) or time.monotonic() >= deadline:
            return lags
        time.sleep(0.2)


def setting(name: str, default: float) -> float:
    return float(os.environ.get(name) or default)


class RssSampler:
    """RSS (MB) of each process of a tree, every `interval` seconds, in a thread."""

    def __init__(self, pid: int, interval: float):
        self.pid = pid
        self.interval = interval
        self.samples: list[dict[str, Any]] = []
        self._started = time.monotonic()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="rss", daemon=True)

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join(5)
        self.sample()

    def sample(self) -> None:
        try:
            parent = psutil.Process(self.pid)
            tree = [parent, *parent.children(recursive=True)]
        except psutil.NoSuchProcess:
            return
        rss: dict[str, float] = {}
        for process in tree:
            try:
                rss[f"{process.pid} {process.name()}"] = process.memory_info().rss / MB
            except psutil.Error:
                continue
        minute = (time.monotonic() - self._started) / 60
        self.samples.append({"minute": round(minute, 2), "rss_mb": rss})

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.sample()


# RSS is compared as the mean of a window of samples at each end, not one sample: the
# serve process trims glibc's free memory every minute (infrastructure/runtime/
# allocator.py), which swings RSS by 2-3 MB between samples, and a single sample just after
# a trim at one end and just before one at the other read as growth (the sixth session's
# soak: +6.2 % from single samples, +4.1 % from 2-minute windows of the same run).
WINDOW_MIN = 2.0


def _mean(values: list[float]) -> float:
    return sum(values) / len(values)


def growth(samples: list[dict[str, Any]], warmup_min: float) -> dict[str, dict[str, float]]:
    """Per process: RSS at the end of warm-up and at the end (each the mean of the samples
    in a `WINDOW_MIN` window), the growth between, and the single samples' growth too."""
    after = [s for s in samples if s["minute"] >= warmup_min] or samples[-1:]
    end = after[-1]["minute"]
    found: dict[str, dict[str, float]] = {}
    for name in after[-1]["rss_mb"]:
        timed = [(s["minute"], s["rss_mb"][name]) for s in after if name in s["rss_mb"]]
        series = [mb for _, mb in timed]
        start = timed[0][0]
        first = _mean([mb for minute, mb in timed if minute < start + WINDOW_MIN])
        last = _mean([mb for minute, mb in timed if minute > end - WINDOW_MIN] or series[-1:])
        found[name] = {
            "after_warmup_mb": round(first, 1),
            "end_mb": round(last, 1),
            "max_mb": round(max(series), 1),
            "growth": round((last - first) / first, 4) if first else 0.0,
            "growth_single_samples": (
                round((series[-1] - series[0]) / series[0], 4) if series[0] else 0.0
            ),
        }
    return found


def catalog_reads(base_url: str, skus: list[str], until: float, seconds: float) -> dict:
    """wrk runs, alternating a stock item and a search, until `until`."""
    totals = {"runs": 0, "requests_per_s": [], "errors": 0.0}
    urls = [f"{base_url}/api/v1/stock-items/{skus[0]}", f"{base_url}/api/v1/products/search?q=eco"]
    while time.monotonic() + 1 < until:
        url = urls[totals["runs"] % len(urls)]
        answer = wrk(url, min(seconds, until - time.monotonic()), {}, connections=16)
        totals["runs"] += 1
        totals["requests_per_s"].append(round(answer["rps"]))
        totals["errors"] += answer["errors"]
    return totals


class Shipper:
    """Ships every confirmed order about every `interval` seconds, as an admin would (so
    stock items' reservations are released and payments captured, as in real use: a soak
    that never ships grows every stock item by its open reservations)."""

    def __init__(self, container: Any, interval: float = 10.0):
        from eventsourcing.utils import get_topic

        from domain.order import Order

        self.container = container
        self.interval = interval
        self.topic = get_topic(Order.Confirmed)
        self.position = container.head_position()
        self.shipped = 0
        self.retried = 0  # lost a version race with the saga: shipped on a later round
        self.pending: list[Any] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="shipper", daemon=True)

    def __enter__(self) -> Shipper:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join(30)

    def _run(self) -> None:
        from domain.base import EventMetadata, event_context

        with event_context(EventMetadata("admin:soak", "soak-shipping", "soak")):
            while not self._stop.wait(self.interval):
                self._round()

    def _round(self) -> None:
        recorder = self.container.services.store.recorder
        while batch := recorder.select_notifications(self.position + 1, 1000, topics=[self.topic]):
            self.pending += [n.originator_id for n in batch]
            self.position = batch[-1].id
        waiting, self.pending = self.pending, []
        for order_id in waiting:
            try:
                self.container.services.orders.ship_order(order_id, "soak", f"SOAK{self.shipped}")
                self.shipped += 1
            except Exception:  # a version race with the saga: next round
                self.retried += 1
                self.pending.append(order_id)


def soak() -> dict[str, Any]:
    minutes = setting("SOAK_MINUTES", 30)
    buyers = int(setting("SOAK_BUYERS", 8))
    warmup = setting("SOAK_WARMUP_MIN", minutes / 5)
    with bench_servers() as servers:
        section = servers.section("soak")
        container = bootstrap(section.settings())
        skus = [f"SOAK-{i}" for i in range(buyers)]
        register(container, skus, quantity=1_000_000)
        seed_products(container.services, 200)
        port = free_port()
        module = os.environ.get("SOAK_SERVE_MODULE") or "api.cli"
        server = start(
            "serve",
            # SOAK_SERVE_MODULE=bench.memprobe: the same server under tracemalloc snapshots
            ["-m", module, "serve", "--port", str(port), "--worker"],
            section,
        )
        base_url = f"http://127.0.0.1:{port}"
        try:
            wait_healthy(server, base_url)
            log(
                f"soak: {minutes} min, {buyers} buyers, wrk at 16 connections, "
                f"pid {server.process.pid}"
            )
            until = time.monotonic() + minutes * 60
            reads: dict[str, Any] = {}
            reader = threading.Thread(
                target=lambda: reads.update(
                    catalog_reads(base_url, skus, until, setting("SOAK_WRK_S", 60))
                ),
                daemon=True,
            )
            shipper = Shipper(container)
            with RssSampler(server.process.pid, setting("SOAK_SAMPLE_S", 30)) as rss, shipper:
                reader.start()
                checkouts = loadgen(
                    {
                        "scenario": "checkout",
                        "base_url": base_url,
                        "concurrency": buyers,
                        "skus": skus,
                        "tokens": [token(f"buyer-{i}", "customer") for i in range(buyers)],
                        "seconds": minutes * 60,
                        "max_requests": 10**9,
                    },
                    timeout=minutes * 60 + 120,
                )
                reader.join(minutes * 60 + 120)
            system = System(section, container, server, server, base_url)
            caught_up = True
            try:
                system.caught_up(timeout=120)
            except RuntimeError:
                caught_up = False
            lags = _settled_lags(container)
            invariants = "ok"
            try:
                from tests.checkout import check_invariants

                check_invariants(container.services, final=False)
            except AssertionError as broken:
                invariants = f"broken: {broken}"
        finally:
            server.stop()
            container.close()
    statuses_seen = checkouts["statuses"]
    # "shipped": the shipper got there before the buyer's poll saw it confirmed
    errors = sum(n for status, n in statuses_seen.items() if status not in DECIDED_OK)
    memory = growth(rss.samples, warmup)
    result = {
        "minutes": minutes,
        "checkouts": checkouts["count"],
        "checkouts_per_s": round(checkouts["per_s"], 1),
        "checkout_outcomes": statuses_seen,
        "checkout_errors": errors,
        "shipped": shipper.shipped,
        "ship_retries": shipper.retried,
        "catalog_reads": reads,
        "read_errors": reads.get("errors", 0),
        "caught_up": caught_up,
        "lag": lags,
        "invariants": invariants,
        "warmup_min": warmup,
        "rss": memory,
        "rss_samples": rss.samples,
    }
    result["flat"] = all(abs(m["growth"]) <= FLAT_WITHIN for m in memory.values())
    result["ok"] = (
        result["flat"]
        and errors == 0
        and not reads.get("errors")
        and caught_up
        and all(lag == 0 for lag in lags.values())
        and invariants == "ok"
    )
    return result


def main() -> None:
    result = soak()
    text = json.dumps(result, indent=2)
    print(text)
    if os.environ.get("SOAK_RESULTS"):
        Path(os.environ["SOAK_RESULTS"]).write_text(text + "\n")
    sys.exit(0 if result["ok"] else 1)


if __name__ == "__main__":
    main()
