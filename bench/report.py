"""Collecting figures, the one table, and results.json.

Every repeated figure is kept as its runs; `summarize` turns them into flat keys: the
median under the key itself, and `<key>_min` / `<key>_max` for the spread."""

from __future__ import annotations

import json
import math
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.stats import spread

_STARTED = time.monotonic()


def log(message: str) -> None:
    """Progress on stderr, so stdout holds only the table."""
    print(f"[{time.monotonic() - _STARTED:6.1f}s] {message}", file=sys.stderr, flush=True)


@dataclass
class Results:
    figures: dict[str, Any] = field(default_factory=dict)
    samples: dict[str, list[float]] = field(default_factory=dict)

    def add(self, key: str, value: float) -> None:
        self.samples.setdefault(key, []).append(value)

    def summarize(self, key: str) -> None:
        values = self.samples.get(key, [])
        summary = spread(values)
        self.figures[key] = summary["median"]
        self.figures[f"{key}_min"] = summary["min"]
        self.figures[f"{key}_max"] = summary["max"]
        self.figures[f"{key}_runs"] = values

    def set(self, key: str, value: Any) -> None:
        self.figures[key] = value

    def get(self, key: str) -> float:
        value = self.figures.get(key)
        return float(value) if isinstance(value, int | float) else math.nan

    def write(self, path: Path) -> None:
        path.write_text(json.dumps(_finite(self.figures), indent=2, sort_keys=True) + "\n")


def _finite(value: Any) -> Any:
    """NaN is not JSON: a figure that could not be measured is null."""
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_finite(v) for v in value]
    return value


@dataclass(frozen=True)
class Target:
    """A goal printed as pass/fail: `key` compared with `threshold`."""

    key: str
    threshold: float
    at_least: bool  # True: key >= threshold; False: key < threshold

    def text(self) -> str:
        unit = "x" if "ratio" in self.key else ""
        return f"{'>=' if self.at_least else '<'} {self.threshold:g}{unit}"

    def verdict(self, results: Results) -> str:
        value = results.get(self.key)
        if math.isnan(value):
            return "n/a"
        ok = value >= self.threshold if self.at_least else value < self.threshold
        return "PASS" if ok else "FAIL"


@dataclass(frozen=True)
class Row:
    label: str
    key: str
    unit: str
    baseline: str | None = None  # key of the raw baseline
    ratio: str | None = None  # key of value / baseline
    target: Target | None = None


ROWS = [
    Row(
        "append, 1 writer",
        "append_per_s_1w",
        "ev/s",
        "raw_insert_per_s_1w",
        "append_ratio_1w",
        Target("append_ratio_1w", 0.30, at_least=True),
    ),
    Row(
        "append, 8 writers",
        "append_per_s_8w",
        "ev/s",
        "raw_insert_per_s_8w",
        "append_ratio_8w",
        Target("append_ratio_8w", 0.40, at_least=True),
    ),
    Row(
        "event-store SQL alone, 1 writer",
        "raw_event_sql_per_s_1w",
        "ev/s",
        "raw_insert_per_s_1w",
        "raw_event_sql_ratio_1w",
    ),
    Row(
        "event-store SQL alone, 8 writers",
        "raw_event_sql_per_s_8w",
        "ev/s",
        "raw_insert_per_s_8w",
        "raw_event_sql_ratio_8w",
        Target("raw_event_sql_ratio_8w", 0.70, at_least=True),
    ),
    Row("append p99, 1 writer", "append_p99_ms_1w", "ms", "raw_insert_p99_ms_1w"),
    Row("append p99, 8 writers", "append_p99_ms_8w", "ms", "raw_insert_p99_ms_8w"),
    Row(
        "HTTP command, 1 worker",
        "http_command_rps_1w",
        "req/s",
        "http_noop_rps_1w",
        "http_command_rps_ratio_1w",
    ),
    Row("HTTP command p50, 1 worker", "http_command_p50_ms_1w", "ms", "http_noop_p50_ms_1w"),
    Row(
        "HTTP command p99, 1 worker",
        "http_command_p99_ms_1w",
        "ms",
        "http_noop_p99_ms_1w",
        target=Target("http_command_p99_ms_1w", 50, at_least=False),
    ),
    Row(
        "HTTP command, 2 workers",
        "http_command_rps_2w",
        "req/s",
        "http_noop_rps_2w",
        "http_command_rps_ratio_2w",
    ),
    Row("HTTP command p50, 2 workers", "http_command_p50_ms_2w", "ms", "http_noop_p50_ms_2w"),
    Row(
        "HTTP command p99, 2 workers",
        "http_command_p99_ms_2w",
        "ms",
        "http_noop_p99_ms_2w",
        target=Target("http_command_p99_ms_2w", 50, at_least=False),
    ),
    Row("HTTP command p50, 1 client, 1 worker", "http_command_c1_p50_ms_1w", "ms"),
    Row("HTTP command p99, 1 client, 1 worker", "http_command_c1_p99_ms_1w", "ms"),
    Row("noop p50, stock uvicorn 2 workers", "http_noop_p50_ms_2w_stock_uvicorn", "ms"),
    Row(
        "CPU per command: API",
        "http_command_api_cpu_ms_1w",
        "ms",
        "http_noop_api_cpu_ms_1w",
        target=Target("http_command_api_cpu_ms_1w", 1.5, at_least=False),
    ),
    Row("CPU per command: worker", "http_command_worker_cpu_ms_1w", "ms"),
    Row("checkout p50, sequential", "checkout_p50_ms", "ms"),
    Row(
        "checkout p95, sequential",
        "checkout_p95_ms",
        "ms",
        target=Target("checkout_p95_ms", 500, at_least=False),
    ),
    Row("checkout p99, sequential", "checkout_p99_ms", "ms"),
    Row("checkout p50, under load", "checkout_load_p50_ms", "ms"),
    Row(
        "checkout p95, under load",
        "checkout_load_p95_ms",
        "ms",
        target=Target("checkout_load_p95_ms", 500, at_least=False),
    ),
    Row("checkout p99, under load", "checkout_load_p99_ms", "ms"),
    Row("checkouts/s, under load", "checkout_load_per_s", "/s"),
    Row("checkouts not confirmed, under load", "checkout_load_not_confirmed", ""),
    Row(
        "projection rebuild",
        "rebuild_per_s",
        "ev/s",
        "raw_select_per_s",
        "rebuild_ratio",
        Target("rebuild_ratio", 0.25, at_least=True),
    ),
    Row(
        "replay --all --json",
        "replay_per_s",
        "ev/s",
        "raw_select_per_s",
        "replay_ratio",
        Target("replay_ratio", 0.30, at_least=True),
    ),
    Row(
        "replay, after startup",
        "replay_stream_per_s",
        "ev/s",
        "raw_select_per_s",
        "replay_stream_ratio",
    ),
    Row("replay startup (0 events)", "replay_startup_s", "s"),
    Row(
        "raw SELECT + json.loads",
        "raw_select_decoded_per_s",
        "ev/s",
        "raw_select_per_s",
        "raw_select_decoded_ratio",
    ),
    Row("bare FastAPI route, wrk 32 conn.", "reads_bare_rps", "req/s"),
    Row(
        "/health, wrk 32 conn.",
        "reads_health_rps",
        "req/s",
        "reads_bare_rps",
        "reads_health_ratio",
        Target("reads_health_ratio", 0.6, at_least=True),
    ),
    Row(
        "GET /stock-items/{sku}, wrk 32 conn.",
        "reads_stock_item_rps",
        "req/s",
        "reads_bare_rps",
        "reads_stock_item_ratio",
        Target("reads_stock_item_ratio", 0.40, at_least=True),
    ),
    Row("GET /stock-items/{sku} p99", "reads_stock_item_p99_ms", "ms", "reads_bare_p99_ms"),
    # Issue 23: the hand-written FastAPI + redis.asyncio route as the second baseline.
    Row(
        "plain FastAPI + redis.asyncio, wrk 32 conn.",
        "reads_plain_rps",
        "req/s",
        "reads_bare_rps",
        "reads_plain_ratio",
    ),
    Row(
        "stock item / plain route",
        "reads_stock_item_rps",
        "req/s",
        "reads_plain_rps",
        "reads_stock_item_plain_ratio",
        Target("reads_stock_item_plain_ratio", 1.0, at_least=True),
    ),
    Row(
        "stock item signed in, wrk 32 conn.",
        "reads_stock_item_signed_in_rps",
        "req/s",
        "reads_bare_rps",
        "reads_stock_item_signed_in_ratio",
    ),
    Row(
        "304 Not Modified, wrk 32 conn.",
        "reads_not_modified_rps",
        "req/s",
        "reads_bare_rps",
        "reads_not_modified_ratio",
        Target("reads_not_modified_ratio", 0.6, at_least=True),
    ),
    Row(
        "search, cache cold, wrk 32 conn.",
        "reads_search_cold_rps",
        "req/s",
        "reads_bare_rps",
        "reads_search_cold_ratio",
        Target("reads_search_cold_ratio", 0.25, at_least=True),
    ),
    Row(
        "HTTP command p99 / trivial p99, 1 worker",
        "http_command_p99_ratio_1w",
        "x",
        target=Target("http_command_p99_ratio_1w", 2.0, at_least=False),
    ),
    Row(
        "search, wrk 32 conn.",
        "reads_search_rps",
        "req/s",
        "reads_bare_rps",
        "reads_search_ratio",
        Target("reads_search_ratio", 0.5, at_least=True),  # anonymous: the cache warm
    ),
    Row("search p99, wrk 32 conn.", "reads_search_p99_ms", "ms", "reads_bare_p99_ms"),
    Row("search p50", "search_p50_ms", "ms"),
    Row("search p95", "search_p95_ms", "ms", target=Target("search_p95_ms", 50, at_least=False)),
    Row("search p95, 4 clients", "search_load_p95_ms", "ms"),
    Row("search p95 (adapter, no HTTP)", "search_adapter_p95_ms", "ms"),
    Row("suggest p95", "suggest_p95_ms", "ms", target=Target("suggest_p95_ms", 20, at_least=False)),
    Row("suggest p95, 4 clients", "suggest_load_p95_ms", "ms"),
    Row("suggest p95 (adapter, no HTTP)", "suggest_adapter_p95_ms", "ms"),
    Row("API peak RSS (all processes)", "api_peak_rss_mb", "MB"),
    Row("API peak RSS (one process)", "api_peak_rss_per_process_mb", "MB"),
    Row("worker peak RSS", "worker_peak_rss_mb", "MB"),
    Row("checkouts/s, 1 worker process", "checkouts_per_s_1wp", "/s"),
    Row("checkouts/s, 2 worker processes", "checkouts_per_s_2wp", "/s"),
    Row("checkout p95, 1 worker process", "checkout_p95_ms_1wp", "ms"),
    Row("checkout p95, 2 worker processes", "checkout_p95_ms_2wp", "ms"),
    Row("CPU per checkout: workers, 1 process", "checkout_worker_cpu_ms_1wp", "ms"),
    Row("CPU per checkout: workers, 2 processes", "checkout_worker_cpu_ms_2wp", "ms"),
    Row("CPU per checkout: API", "checkout_api_cpu_ms_1wp", "ms"),
    Row("checkouts not confirmed, 2 processes", "checkouts_not_confirmed_2wp", ""),
    Row(
        "first reservation, cold, long history",
        "cold_reserve_ms",
        "ms",
        target=Target("cold_reserve_ms", 50, at_least=False),
    ),
    Row("first get, cold, long history", "cold_get_ms", "ms"),
    Row("same, as the process's first command", "cold_reserve_first_in_process_ms", "ms"),
    Row("replay of that history, no snapshot", "cold_replay_no_snapshot_ms", "ms"),
    # Accounts and sign-in (bench/auth.py)
    Row("sign-in p50 (argon2id included)", "signin_p50_ms", "ms"),
    Row("sign-in p95 (argon2id included)", "signin_p95_ms", "ms"),
    Row(
        "access-token verify CPU, EdDSA (ours)",
        "verify_cpu_us_eddsa",
        "us",
        target=Target("verify_cpu_us_eddsa", 500, at_least=False),
    ),
    Row("access-token verify CPU, HS256 (dev)", "verify_cpu_us_hs256", "us"),
    Row("access-token verify CPU, RS256 (IdP)", "verify_cpu_us_rs256", "us"),
    Row("revocation check per request (Redis)", "revocation_check_ms", "ms"),
    # Product images (bench/images.py)
    Row("image check + 6 renditions p50 (2000x1500 JPEG)", "image_prepare_p50_ms", "ms"),
    Row("image check + 6 renditions p95 (2000x1500 JPEG)", "image_prepare_p95_ms", "ms"),
    Row("image uploads with renditions, stored and recorded", "image_uploads_per_s", "/s"),
    # The storefront's server time (bench/storefront.py), beside a bare FastAPI route
    *[
        Row(
            f"storefront {page} {p}, 4 connections",
            f"storefront_{page}_{p}_ms",
            "ms",
            f"storefront_bare_{p}_ms",
            f"storefront_{page}_{p}_ms_ratio",
            Target(f"storefront_{page}_p95_ms", 50, at_least=False)
            if p == "p95" and page in ("product", "search")
            else None,
        )
        for page in ("home", "search", "product", "cart")
        for p in ("p50", "p95")
    ],
]


def _number(value: float, unit: str) -> str:
    if math.isnan(value):
        return "-"
    decimals = {"ms": 1, "s": 2}.get(unit, 0)
    return f"{value:,.{decimals}f}"


def _cells(row: Row, results: Results) -> list[str]:
    value = results.get(row.key)
    low, high = results.get(f"{row.key}_min"), results.get(f"{row.key}_max")
    spread_text = "" if math.isnan(low) else f"{_number(low, row.unit)}-{_number(high, row.unit)}"
    baseline = results.get(row.baseline) if row.baseline else math.nan
    ratio = results.get(row.ratio) if row.ratio else math.nan
    return [
        row.label,
        f"{_number(value, row.unit)} {row.unit}" if not math.isnan(value) else "missing",
        spread_text,
        f"{_number(baseline, row.unit)}" if row.baseline else "",
        "" if math.isnan(ratio) else f"{ratio:.2f}",
        row.target.text() if row.target else "",
        row.target.verdict(results) if row.target else "",
    ]


def table(results: Results, note: Callable[[str], str | None] = lambda _: None) -> str:
    header = ["figure", "median", "min-max", "raw baseline", "ratio", "target", ""]
    rows = [_cells(row, results) for row in ROWS]
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(header, widths, strict=True)).rstrip()]
    lines.append("  ".join("-" * w for w in widths))
    for row, cells in zip(ROWS, rows, strict=True):
        lines.append("  ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)).rstrip())
        if (reason := note(row.key)) is not None:
            lines.append(f"    ^ {reason}")
    return "\n".join(lines)
