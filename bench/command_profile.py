"""The API's CPU per command request, in ONE process (`python -m bench.command_profile`):
the bench app (the real app plus `/bench/noop`) called through httpx's ASGI transport, every
layer, one client after the other, as the `http` section's commands (a stock receipt, admin
JWT) and its trivial route. No server: what is measured is the app's own CPU.

Needs DATABASE_URL (a server where it may create and drop a throwaway database) and
REDIS_URL (a database number it may flush). `PROFILE_REQUESTS` (default 1500) per route;
`PROFILE_CPROFILE=1` adds a cProfile of the event loop's side (the thread pool's work is not
in it), sorted by own time (`PROFILE_SORT`, e.g. cumulative), `PROFILE_TOP` lines (default
40). `PROFILE_CLIENTS=8` adds the commands of 8 concurrent clients (each on its own SKU,
6 s) on the one event loop: commands/s, p50, p99. `ECOVAREJO_*` settings in the
environment apply. Prints the CPU per request."""

from __future__ import annotations

import asyncio
import cProfile
import io
import os
import pstats
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx
import psycopg
import redis

from bench.app import NOOP_PATH, noop
from bench.http import RECEIPT, token
from bench.seed import register
from bench.servers import BENCH_MASTER_KEY, GENEROUS_BUDGET, JWT_SECRET

WARMUP = 200


@contextmanager
def throwaway_database(url: str) -> Iterator[str]:
    name = f"profile_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield urlunsplit(urlsplit(url)._replace(path=f"/{name}"))
    finally:
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE "{name}" WITH (FORCE)')


def _app(database_url: str, redis_url: str) -> Any:
    from api.http.app import create_app
    from infrastructure.bootstrap import bootstrap
    from infrastructure.settings import Settings

    env = {
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "ECOVAREJO_JWT_SECRET": JWT_SECRET,
        "ECOVAREJO_MASTER_KEY": BENCH_MASTER_KEY,
        "ECOVAREJO_RATELIMIT_DEFAULT_PER_MINUTE": GENEROUS_BUDGET,
        "ECOVAREJO_RATELIMIT_ORDERS_PER_MINUTE": GENEROUS_BUDGET,
        "ECOVAREJO_RATELIMIT_READS_PER_MINUTE": GENEROUS_BUDGET,
    }
    env.update({k: v for k, v in os.environ.items() if k.startswith("ECOVAREJO_")})
    container = bootstrap(Settings(**env))  # type: ignore[arg-type]
    app = create_app(container)
    app.add_api_route(NOOP_PATH, noop, methods=["POST"], include_in_schema=False)
    return container, app


async def _run(client: httpx.AsyncClient, paths: list[str], count: int) -> float:
    """CPU seconds per request (the whole process: event loop and thread pool)."""
    headers = {"Authorization": f"Bearer {token('bench-admin', 'admin')}"}
    for i in range(WARMUP):
        answer = await client.post(paths[i % len(paths)], json=RECEIPT, headers=headers)
        assert answer.status_code < 300, answer.text
    started = time.process_time()
    for i in range(count):
        await client.post(paths[i % len(paths)], json=RECEIPT, headers=headers)
    return (time.process_time() - started) / count


async def _profile(app: Any, skus: list[str], count: int, profiled: bool) -> dict[str, Any]:
    transport = httpx.ASGITransport(app=app)
    receipts = [f"/api/v1/stock-items/{s}/receipts" for s in skus]
    figures: dict[str, Any] = {}
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=transport, base_url="http://api") as client,
    ):
        for name, paths in (("noop", [NOOP_PATH]), ("command", receipts)):
            profile = cProfile.Profile() if profiled else None
            if profile:
                profile.enable()
            figures[f"{name}_cpu_ms"] = round(await _run(client, paths, count) * 1000, 3)
            if profile:
                profile.disable()
                figures[f"{name}_profile"] = profile
    return figures


async def _concurrent(app: Any, skus: list[str], seconds: float = 6.0) -> str:
    """Closed-loop commands from one client per SKU, at once: rate and latency."""
    transport = httpx.ASGITransport(app=app)
    headers = {"Authorization": f"Bearer {token('bench-admin', 'admin')}"}
    latencies: list[float] = []
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=transport, base_url="http://api") as client,
    ):
        end = time.monotonic() + seconds

        async def one(sku: str) -> None:
            while time.monotonic() < end:
                started = time.monotonic()
                await client.post(
                    f"/api/v1/stock-items/{sku}/receipts", json=RECEIPT, headers=headers
                )
                latencies.append(time.monotonic() - started)

        await asyncio.gather(*(one(sku) for sku in skus))
    latencies.sort()
    p50, p99 = latencies[len(latencies) // 2], latencies[int(len(latencies) * 0.99)]
    return (
        f"{len(skus)} clients: {len(latencies) / seconds:.0f} commands/s, "
        f"p50 {p50 * 1000:.1f} ms, p99 {p99 * 1000:.1f} ms"
    )


def _stats(profile: cProfile.Profile, top: int) -> str:
    out = io.StringIO()
    pstats.Stats(profile, stream=out).sort_stats(
        os.environ.get("PROFILE_SORT", "tottime")
    ).print_stats(top)
    return out.getvalue()


def main() -> None:
    database_url = os.environ["DATABASE_URL"]
    redis_url = os.environ["REDIS_URL"]
    count = int(os.environ.get("PROFILE_REQUESTS", "1500"))
    profiled = os.environ.get("PROFILE_CPROFILE", "") == "1"
    redis.Redis.from_url(redis_url).flushdb()
    with throwaway_database(database_url) as url:
        container, app = _app(url, redis_url)
        try:
            skus = [f"PROF-{i}" for i in range(max(8, int(os.environ.get("PROFILE_CLIENTS", "0"))))]
            register(container, skus)
            figures = asyncio.run(_profile(app, skus, count, profiled))
            clients = int(os.environ.get("PROFILE_CLIENTS", "0"))
            if clients:
                figures["concurrent"] = asyncio.run(_concurrent(app, skus[:clients]))
        finally:
            container.close()
    print("load average", os.getloadavg())
    if "concurrent" in figures:
        print(figures["concurrent"])
    for name in ("noop", "command"):
        print(f"{name}: {figures[f'{name}_cpu_ms']} ms CPU per request")
        if profiled:
            print(_stats(figures[f"{name}_profile"], int(os.environ.get("PROFILE_TOP", "40"))))


if __name__ == "__main__":
    main()
