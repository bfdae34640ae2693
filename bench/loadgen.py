"""The load generator, run as its own process (`python -m bench.loadgen SPEC.json`) so it
does not share an interpreter with the server: async httpx clients on 127.0.0.1 at a fixed
concurrency, bounded by a request count and a time limit. Prints one JSON result.

Scenarios:
  post      each client POSTs `body` to its own path (`paths[i]`) in a loop
  get       each client GETs `paths` round-robin
  checkout  each client, in a loop: a cart with one item (untimed), then timed: POST
            checkout -> GET /orders/{id} with the consistency token and `?wait=` (the
            spec's `order_wait_s`, default 10) until the order is decided, as a real
            client would; with `order_wait_s` 0, a poll every 10 ms instead (the client
            before the server-side wait)
"""

from __future__ import annotations

import asyncio
import itertools
import json
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import httpx

POLL_INTERVAL_S = 0.01  # the polling client's (order_wait_s 0)
ORDER_WAIT_S = 10.0  # what the client asks the server to wait for the decision
SETTLE_TIMEOUT_S = 30.0
ADDRESS = {
    "line1": "Rua das Flores 10",
    "line2": "apto 2",
    "city": "Recife",
    "state": "PE",
    "postal_code": "50010-000",
    "country": "BR",
}
CARD = {"card_number": "4242424242424242", "expiry": "12/39", "cvc": "123", "holder": "Ana"}


@dataclass
class Tally:
    """What the clients saw, shared by the tasks of one process (one event loop)."""

    max_requests: int
    deadline: float
    latencies: list[float] = field(default_factory=list)
    statuses: Counter[str] = field(default_factory=Counter)
    started: int = 0

    def more(self) -> bool:
        if self.started >= self.max_requests or time.perf_counter() >= self.deadline:
            return False
        self.started += 1
        return True


async def _post_loop(client: httpx.AsyncClient, spec: dict[str, Any], i: int, tally: Tally) -> None:
    path = spec["paths"][i % len(spec["paths"])]
    headers = {"Authorization": f"Bearer {spec['tokens'][i % len(spec['tokens'])]}"}
    while tally.more():
        before = time.perf_counter()
        try:
            response = await client.post(path, json=spec["body"], headers=headers)
            status = str(response.status_code)
        except httpx.HTTPError as error:
            status = type(error).__name__
        tally.latencies.append(time.perf_counter() - before)
        tally.statuses[status] += 1


async def _get_loop(client: httpx.AsyncClient, spec: dict[str, Any], i: int, tally: Tally) -> None:
    paths = itertools.islice(itertools.cycle(spec["paths"]), i, None)
    headers = {"Authorization": f"Bearer {spec['tokens'][i % len(spec['tokens'])]}"}
    while tally.more():
        path = next(paths)
        before = time.perf_counter()
        try:
            response = await client.get(path, headers=headers)
            status = str(response.status_code)
        except httpx.HTTPError as error:
            status = type(error).__name__
        tally.latencies.append(time.perf_counter() - before)
        tally.statuses[status] += 1


async def _fill_cart(client: httpx.AsyncClient, sku: str, headers: dict[str, str]) -> str:
    """A new cart holding one unit of `sku`: the untimed part of a checkout."""
    cart = await client.post("/api/v1/carts", json={}, headers=headers)
    cart.raise_for_status()
    cart_id: str = cart.json()["cart_id"]
    item = {"sku": sku, "quantity": 1}
    added = await client.post(f"/api/v1/carts/{cart_id}/items", json=item, headers=headers)
    added.raise_for_status()
    return cart_id


async def settle(
    client: httpx.AsyncClient,
    order_id: str,
    token: str,
    headers: dict[str, str],
    wait_s: float = ORDER_WAIT_S,
) -> tuple[str, int]:
    """Ask for the order until the saga has decided: its final status and the number of
    requests. With `wait_s`, the server holds each answer until the decision (one request,
    as a rule); with 0, a poll every POLL_INTERVAL_S."""
    give_up = time.perf_counter() + SETTLE_TIMEOUT_S
    poll_headers = {**headers, "X-Consistency-Token": token}
    params = {"wait": wait_s} if wait_s > 0 else None
    asked = 0
    while time.perf_counter() < give_up:
        asked += 1
        response = await client.get(
            f"/api/v1/orders/{order_id}", headers=poll_headers, params=params
        )
        if response.status_code == 200:
            status = str(response.json()["status"])
            if status != "pending":
                return status, asked
        if wait_s <= 0:
            await asyncio.sleep(POLL_INTERVAL_S)
    return "timeout", asked


async def _checkout_loop(
    client: httpx.AsyncClient, spec: dict[str, Any], i: int, tally: Tally
) -> None:
    sku = spec["skus"][i % len(spec["skus"])]
    headers = {"Authorization": f"Bearer {spec['tokens'][i % len(spec['tokens'])]}"}
    body = {"shipping_address": ADDRESS, "payment": CARD}
    while tally.more():
        try:
            cart_id = await _fill_cart(client, sku, headers)
            before = time.perf_counter()
            placed = await client.post(
                f"/api/v1/carts/{cart_id}/checkout", json=body, headers=headers
            )
            placed.raise_for_status()
            answer = placed.json()
            outcome, _ = await settle(
                client,
                answer["order_id"],
                answer["consistency_token"],
                headers,
                float(spec.get("order_wait_s", ORDER_WAIT_S)),
            )
            tally.latencies.append(time.perf_counter() - before)
        except httpx.HTTPError as error:
            outcome = type(error).__name__
        tally.statuses[outcome] += 1


SCENARIOS = {"post": _post_loop, "get": _get_loop, "checkout": _checkout_loop}


async def _phase(spec: dict[str, Any], seconds: float, max_requests: int) -> dict[str, Any]:
    concurrency = int(spec["concurrency"])
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    loop = SCENARIOS[spec["scenario"]]
    tally = Tally(max_requests, time.perf_counter() + seconds)
    async with httpx.AsyncClient(base_url=spec["base_url"], limits=limits, timeout=60.0) as client:
        started = time.perf_counter()
        await asyncio.gather(*(loop(client, spec, i, tally) for i in range(concurrency)))
        elapsed = time.perf_counter() - started
    return {
        "count": len(tally.latencies),
        "seconds": elapsed,
        "per_s": len(tally.latencies) / elapsed if elapsed else 0.0,
        "statuses": dict(tally.statuses),
        "latencies": tally.latencies,
    }


async def run(spec: dict[str, Any]) -> dict[str, Any]:
    if spec.get("warmup_requests"):
        await _phase(spec, float(spec.get("warmup_s", 2.0)), int(spec["warmup_requests"]))
    return await _phase(spec, float(spec["seconds"]), int(spec["max_requests"]))


def main() -> None:
    with open(sys.argv[1]) as spec_file:
        spec = json.load(spec_file)
    json.dump(asyncio.run(run(spec)), sys.stdout)


if __name__ == "__main__":
    main()
