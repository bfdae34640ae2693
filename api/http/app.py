"""The FastAPI application: routers, error mapping and the per-request event context."""

from __future__ import annotations

from typing import Any

from fastapi import Depends, FastAPI
from fastapi.responses import JSONResponse
from starlette.middleware import Middleware

from api import sandbox_provider
from api.console import install_console
from api.http import dispatch, metrics
from api.http.auth import TokenVerifier
from api.http.docs_offline import install_offline_docs
from api.http.edge import Edge
from api.http.errors import install_error_handlers
from api.http.fast_path import FastPath, FastPathCounts, FastRead, search_read, stock_item_read
from api.http.fast_path import health as health_fast
from api.http.idempotency import IdempotencyMiddleware, IdempotencyStore, SubjectKeySealer
from api.http.metrics import edge_metrics
from api.http.middleware import (
    AllowMiddleware,
    InputTextGuard,
    LeanGZipMiddleware,
    ProblemCORSMiddleware,
    RequestBodyGuard,
    ServerErrorGuard,
)
from api.http.openapi import install_openapi
from api.http.query_guard import refuse_unknown_query_parameters
from api.http.ratelimit import RateLimiter, RateLimitMiddleware, RateLimits
from api.http.routers import API_ROUTERS, health, product_images
from api.http.routers import auth as auth_routes
from api.http.routers import catalog as catalog_routes
from api.http.routers.product_images import image_upload_limits
from api.http.routers.products import answer_body
from api.http.routes import RouteTable
from api.http.search_cache import search_cache
from api.http.search_memory import search_memory
from api.http.stored import Policies
from api.http.tracing import TracingMiddleware
from api.storefront import install_storefront
from infrastructure.bootstrap import Container
from infrastructure.configuration import jwt_secret
from infrastructure.observability import tracing
from infrastructure.read_stores.lean_redis import LeanReaders
from infrastructure.read_stores.stored_documents import StoredDocuments
from infrastructure.settings import Settings

GZIP_MINIMUM_SIZE = 1024
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


def _verifier(settings: Settings, container: Container | None = None) -> TokenVerifier:
    # HS256 is for development only: production verifies our own keys and the IdP's.
    no_secret = settings.production or (settings.jwks_url and not settings.jwt_secret)
    secret = None if no_secret else jwt_secret(settings)
    own_keys = None
    if container is not None:  # our own Ed25519 keys, read when a token names one
        from infrastructure.accounts_wiring import account_system

        def own_keys(kid: str) -> Any:
            return account_system(container).signing_keys.public_key(kid)

    return TokenVerifier(
        secret,
        settings.jwks_url,
        audience=settings.jwt_audience,
        issuer=settings.jwt_issuer,
        max_ttl_s=settings.jwt_max_ttl_s,
        own_keys=own_keys,
    )


def _fast_reads(app: FastAPI) -> dict[str, FastRead]:
    """The reads the fast path answers (api/http/fast_path.py), by route template."""
    state = app.state
    reads = {
        "/health": FastRead(health_fast),
        "/api/v1/health": FastRead(health_fast),
        "/api/v1/stock-items/{sku}": FastRead(
            stock_item_read(state.stored, state.cache_policies.product)
        ),
    }
    if state.search_cache is not None or state.search_memory is not None:
        read = search_read(
            state.container.readers,
            state.search_cache,
            state.cache_policies.search,
            state.search_memory,
        )
        reads["/api/v1/products/search"] = FastRead(read, takes_query=True)
    return reads


def _install_edge(
    app: FastAPI, container: Container, verifier: TokenVerifier, fast_path: bool
) -> None:
    """The edge, OUTERMOST FIRST: the order a request takes is the order below (answers
    come back through it in reverse). The edge matches the route once and keeps it in the
    scope for everything after it; the routes set their own ETag (api/http/etag.py)."""
    settings = container.settings
    routes = RouteTable(app)
    limits = (
        RateLimits(RateLimiter.from_settings(container.aredis, settings), verifier)
        if settings.ratelimit_enabled
        else None
    )
    counts: FastPathCounts = app.state.fast_path
    traced = tracing.enabled()

    def fast(**options: Any) -> Middleware:
        return Middleware(FastPath, reads=_fast_reads(app), limits=limits, counts=counts, **options)

    docs = [app.docs_url or "", f"{app.docs_url}/oauth2-redirect", app.redoc_url or ""]
    stack: list[Middleware] = [
        # proxies, route, ids and event context, security headers, metrics, access log
        Middleware(
            Edge,
            routes=routes,
            metrics=app.state.metrics,
            networks=settings.trusted_networks,
            docs_paths=docs,
        ),
        # The hot public reads, answered here when nothing below has work to do for them
        # (api/http/fast_path.py); behind the tracing layer when tracing is on.
        *([fast(gzip_minimum_size=GZIP_MINIMUM_SIZE)] if fast_path and not traced else []),
        # Large JSON answers (lists, exports, the OpenAPI document) gzipped when asked for.
        Middleware(LeanGZipMiddleware, minimum_size=GZIP_MINIMUM_SIZE),
        *([Middleware(TracingMiddleware)] if traced else []),  # off: not in it
        *([fast()] if fast_path and traced else []),
        Middleware(
            ProblemCORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["GET", "POST", "PUT", "DELETE"],
            allow_headers=CORS_REQUEST_HEADERS,
            expose_headers=CORS_RESPONSE_HEADERS,
            max_age=600,
        ),
        Middleware(ServerErrorGuard),
        Middleware(InputTextGuard),  # 422 on path/query/headers
        Middleware(
            RequestBodyGuard,
            max_bytes=settings.max_body_bytes,
            # OAuth2 takes a form (RFC 6749); the console, the storefront and the sandbox's
            # 3-D Secure page post HTML forms
            form_prefixes=("/console/", "/api/v1/auth/token", "/loja/", "/sandbox-provider/"),
            # ECOVAREJO_CATALOG_IMPORT_MAX_BYTES; a settlement report (api/console/finance.py)
            own_limit_paths=("/console/catalog/import", "/console/reconciliation"),
            upload_limits=image_upload_limits(settings),  # ECOVAREJO_IMAGE_MAX_BYTES
        ),
        *([Middleware(RateLimitMiddleware, limits=limits)] if limits else []),
        Middleware(
            IdempotencyMiddleware,
            store=IdempotencyStore.from_settings(
                container.aredis, settings, SubjectKeySealer(container.services.store.keys)
            ),
            verifier=verifier,
            wait_s=settings.idempotency_wait_s,
        ),
        Middleware(AllowMiddleware, routes=routes),
    ]
    for middleware in reversed(stack):  # Starlette wraps the last added outermost
        app.add_middleware(middleware.cls, *middleware.args, **middleware.kwargs)
    # FastAPI's router goes straight to the route the edge matched (api/http/dispatch.py)
    dispatch.install(app, routes.target)


def create_app(container: Container, *, fast_path: bool = True) -> FastAPI:
    """The app; `fast_path=False` leaves every request to the full pipeline (the fast path
    answers the same: tests compare the two)."""
    app = FastAPI(
        title="EcoVarejo",
        version="1.0.0",
        description="Event-sourced back end for sustainable retail. Money is a decimal string "
        "in BRL; errors are RFC 9457 problem+json.",
        openapi_url="/api/v1/openapi.json",
        docs_url="/docs",
        dependencies=[Depends(refuse_unknown_query_parameters)],
        # FastAPI's own OpenTelemetry stays off, as it always was here (it turns itself on
        # only when a process installs a global provider, which none of ours does: the
        # edge's spans are api/http/tracing.py's, to the provider of
        # infrastructure/observability/tracing.py). Said once, instead of FastAPI asking
        # the three global providers (and the environment) on every request: ~8 µs.
        telemetry={"tracing": False, "metrics": False, "logs": False},
    )
    verifier = _verifier(container.settings, container)
    app.state.container = container
    app.state.verifier = verifier
    app.state.metrics = edge_metrics(container)
    app.state.stored = StoredDocuments(container.aredis, LeanReaders.of(container.aredis.url))
    app.state.cache_policies = Policies.of(container.settings)
    app.state.search_cache = search_cache(container, app.state.metrics.registry)
    app.state.search_memory = search_memory(container, app.state.metrics.registry, answer_body)
    install_error_handlers(app)
    for router in API_ROUTERS:
        app.include_router(router, prefix="/api/v1")
    for prefix in ("", "/api/v1"):
        app.include_router(health.router, prefix=prefix)
        app.include_router(metrics.router, prefix=prefix)
    app.include_router(auth_routes.wellknown)  # /.well-known/jwks.json
    app.include_router(product_images.media)  # /media/{key}: the local store's images
    app.include_router(catalog_routes.sitemap_router)  # /sitemap.xml, where crawlers look
    install_console(app)
    app.include_router(sandbox_provider.router)  # the sandbox's SDK and 3-D Secure page
    install_storefront(app)  # /loja (api/storefront), after the console: its error pages
    install_openapi(app)
    install_offline_docs(app)  # /docs and /redoc without a CDN (api/http/docs_offline.py)
    auth_routes.install_oauth2_scheme(app)
    app.add_api_route(  # where tools look for it first
        "/openapi.json", lambda: JSONResponse(app.openapi()), include_in_schema=False
    )
    app.state.fast_path = FastPathCounts()
    _install_edge(app, container, verifier, fast_path)
    return app
