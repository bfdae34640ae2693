"""The FastAPI application: routers, error mapping and the per-request event context."""

from __future__ import annotations

import re
import uuid

from fastapi import Depends, FastAPI
from fastapi.middleware.gzip import GZipMiddleware
from fastapi.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api import metrics
from api.auth import TokenVerifier
from api.console import install_console
from api.errors import install_error_handlers
from api.idempotency import IdempotencyMiddleware, IdempotencyStore
from api.metrics import edge_metrics
from api.middleware import (
    AllowMiddleware,
    InputTextGuard,
    ProblemCORSMiddleware,
    RequestBodyGuard,
    SecurityHeadersMiddleware,
    ServerErrorGuard,
    TrustedProxyMiddleware,
    VersionETagMiddleware,
)
from api.observability import ObservabilityMiddleware
from api.openapi import install_openapi
from api.query_guard import refuse_unknown_query_parameters
from api.ratelimit import RateLimiter, RateLimitMiddleware
from api.routers import API_ROUTERS, health
from api.routes import RouteTable
from api.tracing import TracingMiddleware
from domain.base import EventMetadata, event_context
from infrastructure import tracing
from infrastructure.bootstrap import Container, jwt_secret
from infrastructure.settings import Settings
from infrastructure.stored_documents import StoredDocuments

_CORRELATION = re.compile(r"^[A-Za-z0-9._:-]{1,100}$")
CORS_REQUEST_HEADERS = [
    "Authorization",
    "Content-Type",
    "Idempotency-Key",
    "If-Match",
    "X-Consistency-Token",
    "X-Correlation-ID",
]
CORS_RESPONSE_HEADERS = [
    "ETag",
    "Location",
    "Retry-After",
    "RateLimit-Limit",
    "RateLimit-Remaining",
    "Idempotent-Replayed",
    "X-Correlation-ID",
    "X-Request-ID",
]


class EventContextMiddleware:
    """Opens the event context of a request: a correlation id (the caller's
    X-Correlation-ID, or a new one) and the request as causation; the actor is added by
    authentication. Every event a command emits is stamped from it."""

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        given = headers.get(b"x-correlation-id", b"").decode("latin-1")
        correlation_id = given if _CORRELATION.match(given) else str(uuid.uuid4())
        request_id = str(uuid.uuid4())

        async def send_with_ids(message: Message) -> None:
            if message["type"] == "http.response.start":
                message.setdefault("headers", [])
                message["headers"].append((b"x-correlation-id", correlation_id.encode()))
                message["headers"].append((b"x-request-id", request_id.encode()))
            await send(message)

        metadata = EventMetadata(
            actor="anonymous", correlation_id=correlation_id, causation_id=f"request:{request_id}"
        )
        with event_context(metadata):
            await self.app(scope, receive, send_with_ids)


def _verifier(settings: Settings) -> TokenVerifier:
    secret = None if settings.jwks_url and not settings.jwt_secret else jwt_secret(settings)
    return TokenVerifier(
        secret,
        settings.jwks_url,
        audience=settings.jwt_audience,
        issuer=settings.jwt_issuer,
        max_ttl_s=settings.jwt_max_ttl_s,
    )


def _install_edge(app: FastAPI, container: Container, verifier: TokenVerifier) -> None:
    """The edge's middlewares; the first added runs innermost. A request passes, in order:
    event context, security headers, CORS, error guard, metrics and access log, text rule on
    path/query/headers (422), body guard (413/415/422), rate limit (429), idempotency, ETag
    from `version`, then the routes."""
    settings = container.settings
    routes = RouteTable(app)
    app.add_middleware(VersionETagMiddleware)
    app.add_middleware(AllowMiddleware, routes=routes)
    app.add_middleware(
        IdempotencyMiddleware,
        store=IdempotencyStore.from_settings(container.aredis, settings),
        verifier=verifier,
        wait_s=settings.idempotency_wait_s,
    )
    if settings.ratelimit_enabled:
        app.add_middleware(
            RateLimitMiddleware,
            limiter=RateLimiter.from_settings(container.aredis, settings),
            verifier=verifier,
        )
    app.add_middleware(
        RequestBodyGuard, max_bytes=settings.max_body_bytes, form_prefixes=("/console/",)
    )
    app.add_middleware(InputTextGuard)
    app.add_middleware(ObservabilityMiddleware, metrics=app.state.metrics, routes=routes)
    app.add_middleware(ServerErrorGuard, routes=routes)
    app.add_middleware(
        ProblemCORSMiddleware,
        allow_origins=settings.cors_origins,
        allow_methods=["GET", "POST", "PUT", "DELETE"],
        allow_headers=CORS_REQUEST_HEADERS,
        expose_headers=CORS_RESPONSE_HEADERS,
        max_age=600,
    )
    app.add_middleware(
        SecurityHeadersMiddleware,
        docs_paths=[app.docs_url or "", f"{app.docs_url}/oauth2-redirect", app.redoc_url or ""],
    )
    if tracing.enabled():  # off: not even in the chain
        app.add_middleware(TracingMiddleware, routes=routes)
    # Large JSON answers (lists, exports, the OpenAPI document) are gzipped when asked for.
    app.add_middleware(GZipMiddleware, minimum_size=1024)
    app.add_middleware(EventContextMiddleware)
    app.add_middleware(TrustedProxyMiddleware, networks=settings.trusted_networks)


def create_app(container: Container) -> FastAPI:
    app = FastAPI(
        title="EcoVarejo",
        version="1.0.0",
        description="Event-sourced back end for sustainable retail. Money is a decimal string "
        "in BRL; errors are RFC 9457 problem+json.",
        openapi_url="/api/v1/openapi.json",
        docs_url="/docs",
        dependencies=[Depends(refuse_unknown_query_parameters)],
    )
    verifier = _verifier(container.settings)
    app.state.container = container
    app.state.verifier = verifier
    app.state.metrics = edge_metrics(container)
    app.state.stored = StoredDocuments(container.aredis)
    install_error_handlers(app)
    for router in API_ROUTERS:
        app.include_router(router, prefix="/api/v1")
    for prefix in ("", "/api/v1"):
        app.include_router(health.router, prefix=prefix)
        app.include_router(metrics.router, prefix=prefix)
    install_console(app)
    install_openapi(app)
    app.add_api_route(  # where tools look for it first
        "/openapi.json", lambda: JSONResponse(app.openapi()), include_in_schema=False
    )
    _install_edge(app, container, verifier)
    return app
