"""A profile of checkouts end to end, in ONE process (`python -m bench.checkout_profile`):
the API in process (httpx's ASGI transport, all middlewares), the worker's followers and
dramatiq actors in threads, on embedded servers (or DATABASE_URL / REDIS_URL).

A client does `PROFILE_CHECKOUTS` (default 40) checkouts one after the other, as the
checkout bench's client does: create a cart, add an item, check out, then GET the order
with its consistency token and `?wait=10` until the saga has decided (the server answers
once it is); `PROFILE_WAIT_S=0` makes the client poll every 10 ms instead, as before the
server-side wait, and `PROFILE_WAIT_S=both` runs both clients. Per checkout:

- events appended (the log's head), PostgreSQL transactions (pg_stat_database, every
  backend of the database), statements sent by this process (psycopg cursors), Redis
  commands (INFO commandstats), the client's reads of the order;
- wake-ups: NOTIFYs sent by the wakers, reads of the log by subscriptions, and (with the
  worker feed) notifications read and events decoded;
- CPU: the process's, and per thread group (from /proc: the API's event loop and thread
  pool, each follower, the feed, dramatiq, wakers, leases, chain keeper), and by layer
  from a sampling of every thread's stack every 2 ms (the innermost frame of a known
  package: edge, application and domain, projections, infrastructure, eventsourcing,
  psycopg, redis, dramatiq), charged with the CPU ticks each thread used (`Sampler`).

Run once with the worker feed (`ECOVAREJO_SHARED_FEED`, default on) and once without to
compare; `PROFILE_FEED=both` does both in one run. Prints JSON.
"""

from __future__ import annotations

import asyncio
import collections
import json
import os
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import psycopg
import redis

from bench.http import token
from bench.loadgen import ADDRESS, CARD, ORDER_WAIT_S, settle
from bench.seed import register
from bench.servers import bench_servers

LAYERS = (  # (path fragment, layer): the innermost frame that matches names the layer
    ("/eventsourcing/", "eventsourcing"),
    ("/psycopg", "psycopg"),
    ("/redis/", "redis"),
    ("/dramatiq/", "dramatiq"),
    ("/fastapi/", "edge"),
    ("/starlette/", "edge"),
    ("/pydantic", "edge"),
    ("/httpx/", "client"),
    ("/anyio/", "edge"),
    ("/api/", "edge"),
    ("/application/", "application"),
    ("/domain/", "application"),
    ("/projections/", "projections"),
    ("/infrastructure/", "infrastructure"),
    ("/bench/", "client"),
)


class Counters:
    """Statements sent through psycopg, NOTIFYs sent, reads of the log."""

    def __init__(self) -> None:
        self.values: collections.Counter[str] = collections.Counter()

    @contextmanager
    def installed(self) -> Iterator[None]:
        from infrastructure.store.event_store import LeanStatement, ParallelAppends, Waker

        patched = [
            (psycopg.Cursor, "execute", "statements"),
            (psycopg.Cursor, "executemany", "statements"),
            (LeanStatement, "run", "statements"),  # the hot statements that skip the cursor
            (Waker, "_send", "notifies"),
            (ParallelAppends, "select_notifications", "log_reads"),
        ]
        originals = [(cls, name, getattr(cls, name)) for cls, name, _ in patched]
        for cls, name, key in patched:
            setattr(cls, name, self._counting(getattr(cls, name), key))
        try:
            yield
        finally:
            for cls, name, original in originals:
                setattr(cls, name, original)

    def _counting(self, method: Any, key: str) -> Any:
        values = self.values

        def counted(*args: Any, **kwargs: Any) -> Any:
            values[key] += 1
            return method(*args, **kwargs)

        return counted


class Sampler:
    """Which layer the CPU goes to: every `interval` seconds, each thread whose CPU time
    (in clock ticks, from /proc) advanced since the last look is charged those ticks, to
    the layer of the innermost frame of a known package in its stack. Threads that wait
    (in C, where Python cannot tell) gain no ticks and are not charged."""

    def __init__(self, interval: float = 0.01):
        self.interval = interval
        self.layers: collections.Counter[str] = collections.Counter()
        self._ticks: dict[int, int] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="profile-sampler", daemon=True)

    def __enter__(self) -> Sampler:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        started = time.thread_time()
        try:
            self._sample()
        finally:
            self.cpu_s = time.thread_time() - started

    def _sample(self) -> None:
        me = threading.get_ident()
        while not self._stop.wait(self.interval):
            frames = sys._current_frames()
            for thread in threading.enumerate():
                if thread.ident == me or thread.native_id is None or thread.ident is None:
                    continue
                ticks = _ticks(thread.native_id)
                ran = ticks - self._ticks.get(thread.native_id, ticks)
                self._ticks[thread.native_id] = ticks
                frame = frames.get(thread.ident)
                if ran > 0 and frame is not None:
                    self.layers[self._layer(frame)] += ran

    @staticmethod
    def _layer(frame: Any) -> str:
        while frame is not None:
            filename = frame.f_code.co_filename
            for fragment, layer in LAYERS:
                if fragment in filename:
                    return layer
            frame = frame.f_back
        return "other"


def _ticks(native_id: int) -> int:
    try:
        fields = Path(f"/proc/self/task/{native_id}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0
    return int(fields[11]) + int(fields[12])


def thread_cpu() -> dict[str, float]:
    """CPU seconds of each live thread of this process, grouped by thread name."""
    names = {t.native_id: t.name for t in threading.enumerate()}
    ticks = os.sysconf("SC_CLK_TCK")
    groups: collections.Counter[str] = collections.Counter()
    for task in Path("/proc/self/task").iterdir():
        try:
            fields = (task / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        seconds = (int(fields[11]) + int(fields[12])) / ticks
        groups[_group(names.get(int(task.name), "native"))] += seconds
    return dict(groups)


def _group(name: str) -> str:
    for prefix in ("runner-", "worker-feed", "follower-waker", "leases", "chain-keeper"):
        if name.startswith(prefix):
            return name
    if name.startswith("Thread-") and name.endswith(("(_loop_on_pull)", "(_listen)")):
        return "worker-feed"  # the subscription's reads and LISTEN (the library's threads)
    if name.startswith("Thread-") and "(" not in name:
        return "dramatiq"  # dramatiq's worker threads (the actors) are plain `Thread`s
    if name.startswith(("Thread-", "AnyIO", "asyncio")):
        return "api threads"
    if name == "MainThread":
        return "api event loop + client"
    if "dramatiq" in name.lower() or name.startswith(("_WorkerThread", "_ConsumerThread")):
        return "dramatiq"
    return name


def pg_transactions(url: str) -> int:
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("SELECT pg_stat_clear_snapshot()")
        row = conn.execute(
            "SELECT xact_commit + xact_rollback FROM pg_stat_database "
            "WHERE datname = current_database()"
        ).fetchone()
    return int(row[0]) if row else 0


def redis_calls(client: redis.Redis) -> int:
    stats = client.info("commandstats")
    return sum(int(v["calls"]) for v in stats.values() if isinstance(v, dict))


async def checkout(
    client: httpx.AsyncClient, sku: str, headers: dict[str, str], wait_s: float
) -> int:
    """One checkout as the bench's client does it; the number of reads of the order."""
    cart = (await client.post("/api/v1/carts", json={}, headers=headers)).json()["cart_id"]
    item = {"sku": sku, "quantity": 1}
    (
        await client.post(f"/api/v1/carts/{cart}/items", json=item, headers=headers)
    ).raise_for_status()
    body = {"shipping_address": ADDRESS, "payment": CARD}
    placed = await client.post(f"/api/v1/carts/{cart}/checkout", json=body, headers=headers)
    placed.raise_for_status()
    answer = placed.json()
    status, reads = await settle(
        client, answer["order_id"], answer["consistency_token"], headers, wait_s
    )
    if status == "timeout":
        raise RuntimeError(f"order {answer['order_id']} was not decided")
    return reads


def profile(shared_feed: bool, count: int, wait_s: float = ORDER_WAIT_S) -> dict[str, Any]:
    from api.http.app import create_app
    from infrastructure.bootstrap import bootstrap
    from infrastructure.runtime.followers import runners_for

    with bench_servers() as servers:
        section = servers.section("profile")
        settings = section.settings().model_copy(update={"shared_feed": shared_feed})
        container = bootstrap(settings)
        register(container, ["PROFILE-1"], quantity=1_000_000)
        container.start_processing()
        runners = sorted(r.name for r in runners_for(container))  # no broker: no publisher
        deadline = time.monotonic() + 120
        while (held := sorted(container.leases.held() if container.leases else [])) != runners:
            if time.monotonic() > deadline:
                raise RuntimeError(f"the followers did not start: {held} of {runners}")
            time.sleep(0.1)
        app = create_app(container)
        headers = {"Authorization": f"Bearer {token('profile-buyer', 'customer')}"}
        counters = Counters()

        async def run(n: int) -> int:
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
                return sum([await checkout(client, "PROFILE-1", headers, wait_s) for _ in range(n)])

        try:
            asyncio.run(run(10))  # warm-up: caches, prepared statements, imports
            time.sleep(1.5)
            head, xacts = container.head_position(), pg_transactions(container.database_url)
            calls, cpu = redis_calls(container.redis), thread_cpu()
            started, process_cpu = time.perf_counter(), time.process_time()
            with counters.installed(), Sampler() as sampler:
                polls = asyncio.run(run(count))
                elapsed = time.perf_counter() - started
                container.wait_for_projections(container.head_position(), 30)
                time.sleep(1.5)  # followers finish; statistics reach pg_stat_database
            process_cpu = time.process_time() - process_cpu
            after = thread_cpu()
            feed = container.feed
            per = 1 / count
            busy = dict(sampler.layers)
            total_busy = sum(busy.values()) or 1
            return {
                "shared_feed": shared_feed,
                "order_wait_s": wait_s,
                "checkouts": count,
                "seconds_per_checkout": round(elapsed * per, 4),
                "events": (container.head_position() - head) * per,
                "pg_transactions": round(
                    (pg_transactions(container.database_url) - xacts) * per, 1
                ),
                "statements_sent": round(counters.values["statements"] * per, 1),
                "redis_commands": round((redis_calls(container.redis) - calls) * per, 1),
                "order_reads": round(polls * per, 1),  # the client's GETs of the order
                "notifies_sent": round(counters.values["notifies"] * per, 1),
                "log_reads": round(counters.values["log_reads"] * per, 1),
                "feed_reads": feed.reads if feed else None,
                "feed_decodes": feed.decodes if feed else None,
                # the process's CPU, the profile's own sampler included (as published
                # before), and without it (the application's, the workers' and the client's)
                "cpu_ms_per_checkout": round(process_cpu * 1000 * per, 1),
                "sampler_cpu_ms_per_checkout": round(sampler.cpu_s * 1000 * per, 1),
                "cpu_ms_per_checkout_without_sampler": round(
                    (process_cpu - sampler.cpu_s) * 1000 * per, 1
                ),
                "cpu_ms_by_thread": {
                    k: round((after.get(k, 0) - cpu.get(k, 0)) * 1000 * per, 1)
                    for k in sorted(after)
                    if after.get(k, 0) - cpu.get(k, 0) > 0
                },
                "cpu_share_by_layer": {
                    k: round(v / total_busy, 3)
                    for k, v in sorted(busy.items(), key=lambda kv: -kv[1])
                },
            }
        finally:
            container.close()


def main() -> None:
    count = int(os.environ.get("PROFILE_CHECKOUTS") or 40)
    which = os.environ.get("PROFILE_FEED", "on")
    feeds = {"on": [True], "off": [False], "both": [False, True]}[which]
    asked = os.environ.get("PROFILE_WAIT_S", str(ORDER_WAIT_S))
    waits = [0.0, ORDER_WAIT_S] if asked == "both" else [float(asked)]
    print(json.dumps([profile(f, count, w) for f in feeds for w in waits], indent=2))


if __name__ == "__main__":
    main()
