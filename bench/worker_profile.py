"""The worker's cost per event: stock receipts appended at a steady rate while
`ecovarejo worker` follows them, as in the http section's command run (there through the
API, 8 clients, ~360 receipts/s), without the API (`python -m bench.worker_profile`).

Embedded PostgreSQL and Redis of its own (DATABASE_URL / REDIS_URL unset), so the counts
are the worker's and the driver's only. Per receipt: the worker process's CPU, Redis
commands by name (INFO commandstats: all of them are the worker's, the driver appends to
PostgreSQL only), PostgreSQL transactions of the section's database (pg_stat_database,
less the driver's own: one read and one append per receipt), and the worker's idle CPU
per second before the load. `PROFILE_RATE` (receipts/s, default 360), `PROFILE_SECONDS`
(default 20), `PROFILE_SPY=path`: py-spy (`--gil`, 200 Hz) folded stacks of the worker
during the load, written to `path`.

For an A/B run against another tree: copy this file out of `bench/` (run from there, its
`http.py` would shadow the standard library's), then `cd <tree> && PYTHONPATH=<tree>
<venv>/bin/python /tmp/worker_profile.py` (the worker subprocess runs from that tree).
"""

from __future__ import annotations

import collections
import contextlib
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import psycopg
import redis

from bench.processes import start_worker
from bench.seed import register
from bench.servers import bench_servers
from domain.base import EventMetadata, event_context
from infrastructure.bootstrap import bootstrap

SKUS = 8


def redis_commands(client: redis.Redis) -> dict[str, int]:
    stats: dict[str, Any] = client.info("commandstats")  # type: ignore[assignment]
    return {k.removeprefix("cmdstat_"): int(v["calls"]) for k, v in stats.items()}


class Monitor:
    """Redis MONITOR while `on`: commands sent by clients (round trips; a pipeline's or a
    script's counted once) apart from those run inside Lua scripts."""

    def __init__(self, url: str):
        self.client = redis.Redis.from_url(url)
        self.on = False
        self.sent: collections.Counter[str] = collections.Counter()
        self.scripted: collections.Counter[str] = collections.Counter()
        threading.Thread(target=self._run, daemon=True).start()

    def _run(self) -> None:
        with contextlib.suppress(redis.ConnectionError), self.client.monitor() as monitor:
            for found in monitor.listen():
                if not self.on:
                    continue
                command = str(found.get("command", "")).split(" ", 1)[0].lower()
                if found.get("client_type") == "lua":
                    self.scripted[command] += 1
                else:
                    self.sent[command] += 1


def transactions(url: str) -> int:
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("SELECT pg_stat_force_next_flush()")
        row = conn.execute(
            "SELECT xact_commit + xact_rollback FROM pg_stat_database"
            " WHERE datname = current_database()"
        ).fetchone()
    assert row is not None
    return int(row[0])


def drive(container: Any, skus: list[str], rate: float, seconds: float) -> int:
    """Receipts from one thread per SKU, together `rate` a second, for `seconds`."""
    done = [0] * len(skus)
    interval = len(skus) / rate
    stop_at = time.monotonic() + seconds

    def client(i: int) -> None:
        with event_context(EventMetadata("admin:bench", "bench-profile", "bench")):
            next_at = time.monotonic()
            while next_at < stop_at:
                container.services.catalog.receive_stock(skus[i], 1)
                done[i] += 1
                next_at += interval
                time.sleep(max(0.0, next_at - time.monotonic()))

    threads = [threading.Thread(target=client, args=(i,)) for i in range(len(skus))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return sum(done)


def main() -> None:
    rate = float(os.environ.get("PROFILE_RATE", "360"))
    seconds = float(os.environ.get("PROFILE_SECONDS", "20"))
    spy = os.environ.get("PROFILE_SPY")
    os.environ.pop("DATABASE_URL", None)
    os.environ.pop("REDIS_URL", None)
    with bench_servers() as servers:
        section = servers.section("wprof")
        container = bootstrap(section.settings())
        worker = start_worker(section)
        try:
            skus = [f"WPROF-{i}" for i in range(SKUS)]
            register(container, skus)
            client = redis.Redis.from_url(section.redis_url)
            monitor = Monitor(section.redis_url)
            if not container.wait_for_projections(container.head_position(), 120):
                raise RuntimeError(worker.tail())
            time.sleep(3)  # leases taken, start-up done
            idle = worker.cpu_seconds()
            time.sleep(5)
            idle_ms_per_s = (worker.cpu_seconds() - idle) * 1000 / 5
            # warm-up
            drive(container, skus, rate, 2)
            container.wait_for_projections(container.head_position(), 60)
            time.sleep(1)
            before = (
                worker.cpu_seconds(),
                redis_commands(client),
                transactions(section.database_url),
            )
            sampler = None
            if spy:
                sampler = subprocess.Popen(
                    [
                        str(Path(sys.executable).parent / "py-spy"),
                        "record",
                        "--gil",
                        "-r",
                        "200",
                        "-f",
                        "raw",
                        "-o",
                        spy,
                        "-d",
                        str(int(seconds)),
                        "-p",
                        str(worker.process.pid),
                    ],
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
            t0 = time.monotonic()
            monitor.on = True
            count = drive(container, skus, rate, seconds)
            monitor.on = False
            caught = container.wait_for_projections(container.head_position(), 60)
            elapsed = time.monotonic() - t0
            after = (
                worker.cpu_seconds(),
                redis_commands(client),
                transactions(section.database_url),
            )
            if sampler is not None:
                sampler.wait(60)
            commands = {
                k: round((v - before[1].get(k, 0)) / count, 2)
                for k, v in after[1].items()
                if v - before[1].get(k, 0) > 0
            }
            commands.pop("info", None)
            worker_cpu = (after[0] - before[0]) - idle_ms_per_s / 1000 * 0  # all of it
            print(
                json.dumps(
                    {
                        "receipts": count,
                        "rate_per_s": round(count / elapsed, 1),
                        "caught_up": caught,
                        "worker_cpu_ms_per_receipt": round(worker_cpu * 1000 / count, 3),
                        "worker_idle_cpu_ms_per_s": round(idle_ms_per_s, 1),
                        "redis_commands_per_receipt": round(sum(commands.values()), 2),
                        "redis_by_command": commands,
                        # MONITOR, while the receipts came (not the catch-up after)
                        "redis_sent_per_receipt": {
                            k: round(v / count, 3) for k, v in monitor.sent.most_common()
                        },
                        "redis_in_scripts_per_receipt": {
                            k: round(v / count, 3) for k, v in monitor.scripted.most_common()
                        },
                        # the driver's: a read of the stock item and its append, per receipt
                        "pg_transactions_per_receipt_less_driver": round(
                            (after[2] - before[2]) / count - 2, 2
                        ),
                    },
                    indent=1,
                )
            )
        finally:
            if os.environ.get("PROFILE_LOG"):
                print(worker.tail(int(os.environ["PROFILE_LOG"])), file=sys.stderr)
            worker.stop()
            container.close()


if __name__ == "__main__":
    main()
