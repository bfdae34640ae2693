"""Crash safety: SIGKILL the worker at random points during a batch of checkouts, restart
it, and every promise still holds, with no event or side effect doubled."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter

import pytest

from domain.order import Order
from domain.stock_item import StockItem
from infrastructure.bootstrap import bootstrap
from infrastructure.gateways.payments.sandbox import GATEWAY_NAMES, SandboxGateway
from tests.checkout import (
    APPROVED,
    DECLINED,
    PRIMARY_FAILS,
    aggregates,
    check_invariants,
    check_out,
    fill_cart,
    register,
    settled,
    wait_until,
)


def spawn_worker(settings) -> subprocess.Popen:
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("ECOVAREJO_")},
        "DATABASE_URL": settings.database_url,
        "REDIS_URL": settings.redis_url,
        "ECOVAREJO_DATA_DIR": str(settings.data_dir),
        "ECOVAREJO_JWT_SECRET": "x" * 40,
        "ECOVAREJO_PAYMENT_TIMEOUT_S": "8",
    }
    return subprocess.Popen(
        [sys.executable, "-m", "api.cli", "worker"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


@pytest.mark.timeout(300)
def test_killing_the_worker_at_random_points_loses_and_doubles_nothing(settings):
    rng = random.Random(20261122)
    container = bootstrap(settings)  # this process only writes commands; the worker reacts
    worker = spawn_worker(settings)
    try:
        register(container.services, "ECO-1", 6)
        register(container.services, "ECO-2", 50)
        carts = [fill_cart(container.services, {"ECO-1": 1, "ECO-2": 2}) for _ in range(12)]
        kills = 0
        for index, cart in enumerate(carts):
            check_out(
                container.services, cart, rng.choice([APPROVED, APPROVED, DECLINED, PRIMARY_FAILS])
            )
            time.sleep(rng.uniform(0.0, 0.4))
            if index % 3 == 2:  # four kills while checkouts arrive
                worker.send_signal(signal.SIGKILL)
                worker.wait()
                kills += 1
                worker = spawn_worker(settings)
        for _ in range(3):  # and while it is catching up
            time.sleep(rng.uniform(0.3, 1.5))
            worker.send_signal(signal.SIGKILL)
            worker.wait()
            kills += 1
            worker = spawn_worker(settings)
        assert kills == 7
        wait_until(lambda: settled(container.services), timeout=120, what="every order to settle")
        check_invariants(container.services, final=True)
        found = aggregates(container.services)
        # Six units of ECO-1 for twelve orders: never more than six confirmed.
        confirmed = [o for o in found[Order] if o.status == "confirmed"]
        assert 0 < len(confirmed) <= 6
        # No doubled events: one reservation per order and item, one final event per order.
        for item in found[StockItem]:
            events = container.services.store.repository.event_store.get(item.id)
            reserved = Counter(e.order_id for e in events if isinstance(e, StockItem.Reserved))
            assert max(reserved.values(), default=1) == 1
        for order in found[Order]:
            kinds = Counter(
                type(e).__name__
                for e in container.services.store.repository.event_store.get(order.id)
            )
            assert kinds["Confirmed"] + kinds["Cancelled"] in (1, 2)  # confirmed, then cancelled
            assert kinds["Confirmed"] <= 1
            assert kinds["Cancelled"] <= 1
        # No doubled side effects: one authorization per payment across the chain...
        ledger = [
            row for name in GATEWAY_NAMES for row in SandboxGateway(name, container.redis).ledger()
        ]
        authorizations = Counter(row["key"] for row in ledger if row["op"] == "authorize")
        assert len(authorizations) == len(found[Order]) - sum(
            o.cancellation_reason == "insufficient_stock" for o in found[Order]
        )
        assert set(authorizations.values()) == {1}
        # ...and one notification per order and kind, every final order notified.
        wait_until(
            lambda: notified(settings) >= {str(o.id) for o in found[Order]},
            timeout=60,
            what="notifications",
        )
        keys = [json.loads(line)["key"] for line in notifications(settings)]
        assert len(keys) == len(set(keys))
    finally:
        worker.send_signal(signal.SIGKILL)
        worker.wait()
        container.close()


def notifications(settings) -> list[str]:
    path = settings.data_dir / "notifications.jsonl"
    return path.read_text().splitlines() if path.exists() else []


def notified(settings) -> set[str]:
    return {json.loads(line)["order_id"] for line in notifications(settings)}
