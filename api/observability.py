"""The middleware that measures and logs every request: metrics by route template and
status, and one access log line (JSON) with the request's correlation id."""

from __future__ import annotations

import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.access_log import log_request
from api.auth import known_principal
from api.idempotency import REPLAYED_HEADER
from api.metrics import EdgeMetrics
from api.routes import UNMATCHED, RouteTable

_REPLAYED = REPLAYED_HEADER.encode()


class ObservabilityMiddleware:
    def __init__(self, app: ASGIApp, metrics: EdgeMetrics, routes: RouteTable):
        self.app = app
        self.metrics = metrics
        self.routes = routes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500
        replayed = False

        async def observing_send(message: Message) -> None:
            nonlocal status, replayed
            if message["type"] == "http.response.start":
                status = message["status"]
                replayed = any(name == _REPLAYED for name, _ in message.get("headers", []))
            await send(message)

        try:
            await self.app(scope, receive, observing_send)
        finally:
            self._record(scope, status, time.perf_counter() - started, replayed)

    def _record(self, scope: Scope, status: int, seconds: float, replayed: bool) -> None:
        method = scope["method"]
        route = self.routes.match(method, scope["path"])
        self.metrics.observe(method, route, status, seconds, replayed)
        principal = known_principal(scope)
        log_request(
            method=method,
            route=route.template if route else UNMATCHED,
            status=status,
            duration_s=seconds,
            role=principal.role if principal else None,
        )
