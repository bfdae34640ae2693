"""Prometheus metrics, in a registry of the app's own (several apps can live in one process).

Counted at the edge: requests and their latency by method, route template and status, and
command outcomes. Read at scrape time: orders by status and cancelled orders by reason
(the saga's outcomes, from the orders read model), the event store's head, and each
projection's position and lag behind the head, and whether each runner is running."""

from __future__ import annotations

import logging
from collections import Counter as Tally
from collections.abc import Iterator
from typing import Any

from fastapi import APIRouter, Request, Response
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from api.http.deps import Operator
from api.http.ops_metrics import OpsCollector
from api.http.routes import UNMATCHED, RouteInfo
from domain.order import OrderStatus
from infrastructure.bootstrap import Container
from infrastructure.runtime.followers import RUNNERS

log = logging.getLogger("ecovarejo.edge")

ORDER_STATUSES = tuple(status.value for status in OrderStatus)
COMMAND_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
# Cancelled orders read per scrape to count reasons (the read model has no per-reason index).
REASON_SCAN_LIMIT = 10_000
_OUTCOMES = {
    400: "invalid",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    409: "conflict",
    413: "invalid",
    415: "invalid",
    422: "invalid",
    429: "rate_limited",
}


def command_outcome(status: int, replayed: bool) -> str:
    if replayed:
        return "replayed"
    if 200 <= status < 300:
        return "accepted"
    return _OUTCOMES.get(status, "error" if status >= 500 else "rejected")


class EdgeMetrics:
    def __init__(self, registry: CollectorRegistry | None = None):
        self.registry = registry or CollectorRegistry()
        self.requests = Counter(
            "ecovarejo_http_requests",
            "HTTP requests by method, route template and status",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "ecovarejo_http_request_duration_seconds",
            "HTTP request latency by method, route template and status",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.commands = Counter(
            "ecovarejo_commands",
            "commands (POST/PUT/DELETE on the API) by route name and outcome",
            ["command", "outcome"],
            registry=self.registry,
        )
        # The series of each (method, template, status): as many as the registry holds.
        self._children: dict[tuple[str, str, int], tuple[Any, Any]] = {}
        # The command counter's series by (route name, outcome), looked up once as well.
        self._commands: dict[tuple[str, str], Any] = {}

    def observe(
        self, method: str, route: RouteInfo | None, status: int, seconds: float, replayed: bool
    ) -> None:
        template = route.template if route else UNMATCHED
        labels = (method, template, status)
        children = self._children.get(labels)
        if children is None:  # the label lookup, once per series instead of per request
            named = (method, template, str(status))
            children = self._children[labels] = (
                self.requests.labels(*named),
                self.latency.labels(*named),
            )
        children[0].inc()
        children[1].observe(seconds)
        is_command = route is not None and method in COMMAND_METHODS and method in route.methods
        if is_command and route is not None and template.startswith("/api/v1/"):
            key = (route.name, command_outcome(status, replayed))
            series = self._commands.get(key)
            if series is None:
                series = self._commands[key] = self.commands.labels(*key)
            series.inc()


class SystemCollector(Collector):
    """Gauges computed from the event store and the read models when Prometheus scrapes.
    A part that cannot be read is left out (and logged), the rest is still served."""

    def __init__(self, container: Container):
        self.container = container

    def collect(self) -> Iterator[Metric]:
        for part in (
            self._orders,
            self._cancellations,
            self._projections,
            self._runners,
            self._leases,
        ):
            try:
                yield from part()
            except Exception as e:
                log.warning("metrics: %s failed: %s", part.__name__, type(e).__name__)

    def _orders(self) -> Iterator[Metric]:
        orders = self.container.readers.orders
        family = GaugeMetricFamily(
            "ecovarejo_orders", "orders by status (the checkout saga's outcomes)", labels=["status"]
        )
        for status in ORDER_STATUSES:
            family.add_metric([status], orders.count(status))
        yield family

    def _cancellations(self) -> Iterator[Metric]:
        cancelled = self.container.readers.orders.newest("cancelled", REASON_SCAN_LIMIT)
        reasons: Tally[str] = Tally(d.get("cancellation_reason") or "unknown" for d in cancelled)
        family = GaugeMetricFamily(
            "ecovarejo_orders_cancelled",
            f"cancelled orders by reason (the newest {REASON_SCAN_LIMIT} counted)",
            labels=["reason"],
        )
        for reason, count in sorted(reasons.items()):
            family.add_metric([reason], count)
        yield family

    def _projections(self) -> Iterator[Metric]:
        head = self.container.head_position()
        positions = self.container.projection_positions()
        yield GaugeMetricFamily(
            "ecovarejo_event_store_head", "position of the last event in the log", value=head
        )
        position = GaugeMetricFamily(
            "ecovarejo_projection_position", "last event applied", labels=["projection"]
        )
        lag = GaugeMetricFamily(
            "ecovarejo_projection_lag_events",
            "events in the log not yet applied by the projection",
            labels=["projection"],
        )
        for name, at in sorted(positions.items()):
            position.add_metric([name], at)
            lag.add_metric([name], max(0, head - at))
        yield position
        yield lag

    def _runners(self) -> Iterator[Metric]:
        family = GaugeMetricFamily(
            "ecovarejo_runner_up",
            "1 if the runner feeding this follower (read model, saga, effects) runs in this"
            " process; labelled by follower (the registry's names)",
            labels=["runner"],
        )
        for name, supervisor in sorted(self.container.supervisors.items()):
            up = 1 if supervisor.status.state == "running" else 0
            for follower in RUNNERS[name].followers if name in RUNNERS else (name,):
                family.add_metric([follower], up)
        yield family

    def _leases(self) -> Iterator[Metric]:
        from infrastructure.bootstrap import FOLLOWERS
        from infrastructure.runtime.runners import lease_holders

        family = GaugeMetricFamily(
            "ecovarejo_follower_lease",
            "1 for the worker (host:pid) that holds the follower's lease and runs it",
            labels=["follower", "owner"],
        )
        for name, owner in sorted(lease_holders(self.container.database_url, FOLLOWERS).items()):
            family.add_metric([name, owner], 1)
        yield family


def edge_metrics(container: Container) -> EdgeMetrics:
    metrics = EdgeMetrics()
    metrics.registry.register(SystemCollector(container))
    metrics.registry.register(OpsCollector(container))
    return metrics


router = APIRouter(tags=["operations"])


@router.get(
    "/metrics",
    response_class=Response,
    responses={
        200: {
            "description": "Prometheus text exposition format",
            "content": {"text/plain": {"schema": {"type": "string"}}},
        }
    },
)
def metrics(request: Request, _: Operator) -> Response:
    """Prometheus metrics of this API process: for admins, the bearer of
    ECOVAREJO_METRICS_TOKEN, or anyone on the ECOVAREJO_METRICS_BIND listener."""
    edge: EdgeMetrics = request.app.state.metrics
    return Response(generate_latest(edge.registry), media_type=CONTENT_TYPE_LATEST)
