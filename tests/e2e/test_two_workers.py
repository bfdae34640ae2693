"""Two workers share one database: the leases split the followers between them, a killed
worker's share is taken over within 10 s, and the promises of the checkout still hold —
every order terminal, no unit oversold, every side effect once, no follower run twice.

Runs on the Redis broker and on RabbitMQ (`RABBITMQ_URL`; `.ci/run` sets it when a
RabbitMQ answers on 127.0.0.1:5672). With RABBITMQ_URL set, an unreachable RabbitMQ fails
the test; unset, the RabbitMQ run is skipped, except in CI (CI=true), where it fails."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections import Counter
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from domain.order import Order
from domain.stock_item import StockItem
from infrastructure.bootstrap import FOLLOWERS as ALL_RUNNERS
from infrastructure.bootstrap import bootstrap
from infrastructure.gateways.integration_publisher import NAME as INTEGRATION_EVENTS
from infrastructure.gateways.payments.sandbox import GATEWAY_NAMES, SandboxGateway
from infrastructure.read_stores.projection_admin import runner_status
from infrastructure.runtime.runners import lease_holders
from tests.checkout import (
    APPROVED,
    DECLINED,
    aggregates,
    check_invariants,
    check_out,
    fill_cart,
    register,
    settled,
    wait_until,
)

# What these workers lease: all but the integration-event publisher (no ECOVAREJO_EVENTS_URL).
FOLLOWERS = [name for name in ALL_RUNNERS if name != INTEGRATION_EVENTS]


def rabbitmq_url() -> str:
    url = os.environ.get("RABBITMQ_URL")
    if not url:
        if os.environ.get("CI") == "true":
            pytest.fail("RABBITMQ_URL is not set in CI: .ci/run sets it when RabbitMQ answers")
        pytest.skip("RABBITMQ_URL is not set (no RabbitMQ to run against)")
    parts = urlsplit(url)
    try:  # set but unreachable is a failure, not a skip
        socket.create_connection((parts.hostname or "localhost", parts.port or 5672), 5).close()
    except OSError as error:
        pytest.fail(f"RABBITMQ_URL={url} is set but unreachable: {error}")
    return url


def spawn_worker(settings, broker_url: str, queue: str, log: Path) -> subprocess.Popen:
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("ECOVAREJO_")},
        "DATABASE_URL": settings.database_url,
        "REDIS_URL": settings.redis_url,
        "BROKER_URL": broker_url,
        "ECOVAREJO_BROKER_QUEUE": queue,
        "ECOVAREJO_DATA_DIR": str(settings.data_dir),
        "ECOVAREJO_JWT_SECRET": "x" * 40,
        "ECOVAREJO_PAYMENT_TIMEOUT_S": "8",
    }
    return subprocess.Popen(
        [sys.executable, "-m", "api.cli", "worker"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=log.open("ab"),
    )


def owner_of(process: subprocess.Popen) -> str:
    return f"{socket.gethostname()}:{process.pid}"


@pytest.mark.timeout(240)
@pytest.mark.parametrize("broker", ["redis", "rabbitmq"])
def test_two_workers_share_the_followers_and_one_takes_over_when_the_other_is_killed(
    settings, tmp_path, broker
):
    broker_url = rabbitmq_url() if broker == "rabbitmq" else settings.redis_url
    queue = f"ecovarejo-test-{uuid.uuid4().hex[:8]}"  # a RabbitMQ may be shared
    logs = [tmp_path / "worker-a.log", tmp_path / "worker-b.log"]
    container = bootstrap(settings)  # this process only sends commands
    workers = [spawn_worker(settings, broker_url, queue, log) for log in logs]
    try:
        holders = lambda: lease_holders(settings.database_url, FOLLOWERS)  # noqa: E731
        wait_until(
            lambda: balanced(holders()),
            timeout=45,
            what="both workers to hold an equal share of the followers",
        )
        only_owners_run(container, holders(), seconds=3)
        register(container.services, "ECO-1", 5)
        register(container.services, "ECO-2", 40)
        carts = [fill_cart(container.services, {"ECO-1": 1, "ECO-2": 2}) for _ in range(10)]
        pay_with = [DECLINED if index % 4 == 3 else APPROVED for index in range(len(carts))]
        for cart, number in zip(carts[:5], pay_with[:5], strict=True):
            check_out(container.services, cart, number)
        workers[0].send_signal(signal.SIGKILL)  # mid-run: one worker dies for good
        workers[0].wait()
        killed_at = time.monotonic()
        survivor = owner_of(workers[1])
        wait_until(
            lambda: holders() == dict.fromkeys(FOLLOWERS, survivor),
            timeout=10,
            what="the survivor to take over every follower within 10 s",
        )
        assert time.monotonic() - killed_at < 10
        for cart, number in zip(carts[5:], pay_with[5:], strict=True):
            check_out(container.services, cart, number)
        wait_until(lambda: settled(container.services), timeout=90, what="every order to settle")
        check_invariants(container.services, final=True)
        found = aggregates(container.services)
        confirmed = [o for o in found[Order] if o.status == "confirmed"]
        assert 0 < len(confirmed) <= 5  # five units of ECO-1: never oversold
        for item in found[StockItem]:  # one reservation per order and item
            events = container.services.store.repository.event_store.get(item.id)
            reserved = Counter(e.order_id for e in events if isinstance(e, StockItem.Reserved))
            assert max(reserved.values(), default=1) == 1
        ledger = [
            row for name in GATEWAY_NAMES for row in SandboxGateway(name, container.redis).ledger()
        ]
        authorizations = Counter(row["key"] for row in ledger if row["op"] == "authorize")
        assert set(authorizations.values()) == {1}  # every payment authorized once
        wait_until(
            lambda: (
                {json.loads(n)["order_id"] for n in notifications(settings)}
                >= {str(o.id) for o in found[Order]}
            ),
            timeout=60,
            what="a notification for every order",
        )
        keys = [json.loads(line)["key"] for line in notifications(settings)]
        assert len(keys) == len(set(keys))  # every notification once
        # No follower ran in both workers: each worker started a runner only while it held
        # its lease, and no runner failed (a step done twice fails on its position).
        for log in logs:
            runs_only_under_lease(log.read_text(errors="replace"))
        output = "\n".join(log.read_text(errors="replace") for log in logs)
        assert "IntegrityError" not in output
        assert "retrying in" not in output
    finally:
        for worker in workers:
            if worker.poll() is None:
                worker.send_signal(signal.SIGKILL)
                worker.wait()
        container.close()
        if broker == "rabbitmq":
            delete_queues(broker_url, queue)


def delete_queues(url: str, queue: str) -> None:
    """Leave nothing behind on a shared RabbitMQ: the queue and dramatiq's delay and dead
    letter queues."""
    import pika

    connection = pika.BlockingConnection(pika.URLParameters(url))
    try:
        channel = connection.channel()
        for name in (queue, f"{queue}.DQ", f"{queue}.XQ"):
            channel.queue_delete(name)
    finally:
        connection.close()


def balanced(owners: dict[str, str]) -> bool:
    shares = Counter(owners.values())
    return (
        len(owners) == len(FOLLOWERS)
        and len(shares) == 2
        and max(shares.values()) == min(shares.values()) + len(FOLLOWERS) % 2
    )


def only_owners_run(container, owners: dict[str, str], seconds: float) -> None:
    """A follower's runner reports (heartbeats) from the worker that runs it: once the new
    owners have reported, every report over a few heartbeats comes from the lease holder,
    never from a standby."""

    def reporters() -> dict[str, str | None]:
        return {name: runner_status(container.redis, name).get("host") for name in owners}

    wait_until(lambda: reporters() == owners, timeout=15, what="every owner to report")
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        assert reporters() == owners
        time.sleep(0.1)


def runs_only_under_lease(log: str) -> None:
    """Replay a worker's log: every "runner X started" comes while the worker holds X's
    lease (after "took the lease of X", before it gave it back or lost its connection).
    A runner that runs without its lease would do the owner's work a second time."""
    held: set[str] = set()
    started = 0
    for line in log.splitlines():
        try:
            message = json.loads(line)["message"]
        except (ValueError, KeyError):
            continue  # a traceback's continuation or a non-JSON line
        if message.startswith("took the lease of "):
            held.add(message.removeprefix("took the lease of "))
        elif message.startswith("gave back the lease of "):
            held.discard(message.removeprefix("gave back the lease of "))
        elif message.startswith("lease connection lost"):
            held.clear()
        elif message.startswith("runner ") and message.endswith(" started"):
            name = message.removeprefix("runner ").removesuffix(" started")
            assert name in held, f"runner {name} started without its lease"
            started += 1
    assert started > 0, "no runner started: the log says nothing to check"


def notifications(settings) -> list[str]:
    path = settings.data_dir / "notifications.jsonl"
    return path.read_text().splitlines() if path.exists() else []
