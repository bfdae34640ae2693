"""Sizes and durations of a benchmark run, from the environment.

`BENCH_QUICK=1` shrinks everything for a smoke run; `BENCH_RUNS=N` overrides the number of
repetitions whose median (and min-max spread) is reported. `BENCH_ORDER_WAIT_S` is how long
the checkout client asks `GET /orders/{id}` to wait for the decision (`?wait=`, default 10);
0 makes it poll every 10 ms instead, as it did before the server-side wait."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class BenchConfig:
    quick: bool
    runs: int
    append_seconds: float
    writers: tuple[int, ...]
    http_workers: tuple[int, ...]
    http_concurrency: int
    http_seconds: float
    http_max_requests: int
    checkout_sequential: int
    checkout_concurrency: int
    checkout_under_load: int
    order_wait_s: float
    seed_events: int
    seed_stock_items: int
    seed_orders: int
    products: int
    search_queries: int
    search_concurrency: int
    results_path: Path

    @classmethod
    def from_env(cls) -> BenchConfig:
        quick = os.environ.get("BENCH_QUICK", "") not in ("", "0", "false", "no")
        runs = int(os.environ.get("BENCH_RUNS", "1" if quick else "3"))
        return cls(
            quick=quick,
            runs=max(runs, 1),
            append_seconds=1.0 if quick else 3.0,
            writers=(1, 8),
            http_workers=(1, 2),
            http_concurrency=8,
            http_seconds=1.5 if quick else 5.0,
            http_max_requests=2_000 if quick else 50_000,
            checkout_sequential=5 if quick else 30,
            checkout_concurrency=8,
            checkout_under_load=16 if quick else 80,
            order_wait_s=float(os.environ.get("BENCH_ORDER_WAIT_S", "10")),
            seed_events=5_000 if quick else 100_000,
            seed_stock_items=200 if quick else 1_000,
            seed_orders=10 if quick else 200,
            products=1_000 if quick else 10_000,
            search_queries=40 if quick else 300,
            search_concurrency=4,
            results_path=Path(
                os.environ.get("BENCH_RESULTS", Path(__file__).with_name("results.json"))
            ),
        )
