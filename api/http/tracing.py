"""The edge's span: one SERVER span per request, named by method and route template,
continuing the caller's `traceparent` if it sent one. Installed only when tracing is on
(infrastructure/observability/tracing.py); events created while it is current carry its context."""

from __future__ import annotations

from opentelemetry import propagate, trace
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.http.routes import template_of
from domain.base import current_metadata
from infrastructure.observability.tracing import tracer


class TracingMiddleware:
    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        method = scope["method"]
        template = template_of(scope)  # matched once, by the edge
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
        parent = propagate.extract({k: v for k, v in headers.items() if k == "traceparent"})
        attributes = {
            "http.request.method": method,
            "http.route": template,
            "ecovarejo.correlation_id": current_metadata().correlation_id,
        }
        with tracer().start_as_current_span(
            f"{method} {template}",
            context=parent,
            kind=trace.SpanKind.SERVER,
            attributes=attributes,
        ) as span:

            async def traced_send(message: Message) -> None:
                if message["type"] == "http.response.start":
                    status = int(message["status"])
                    span.set_attribute("http.response.status_code", status)
                    if status >= 500:
                        span.set_status(trace.Status(trace.StatusCode.ERROR))
                    traceparent: dict[str, str] = {}
                    propagate.inject(traceparent)
                    message.setdefault("headers", [])
                    message["headers"].append(
                        (b"traceparent", traceparent.get("traceparent", "").encode())
                    )
                await send(message)

            await self.app(scope, receive, traced_send)
