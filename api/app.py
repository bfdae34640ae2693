"""The FastAPI application: routers, error mapping and the per-request event context."""

from __future__ import annotations

import re
import uuid
from typing import Any

from fastapi import FastAPI
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.auth import TokenVerifier
from api.errors import install_error_handlers
from api.routers import API_ROUTERS, health
from domain.base import EventMetadata, event_context
from infrastructure.bootstrap import Container, jwt_secret

_CORRELATION = re.compile(r"^[A-Za-z0-9._:-]{1,100}$")


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


def create_app(container: Container) -> FastAPI:
    settings = container.settings
    app = FastAPI(
        title="EcoVarejo",
        version="1.0.0",
        description="Event-sourced back end for sustainable retail. Money is a decimal string "
        "in BRL; errors are RFC 9457 problem+json.",
        openapi_url="/api/v1/openapi.json",
        docs_url="/docs",
    )
    app.state.container = container
    app.state.verifier = TokenVerifier(
        None if settings.jwks_url and not settings.jwt_secret else jwt_secret(settings),
        settings.jwks_url,
    )
    install_error_handlers(app)
    api_responses: dict[int | str, dict[str, Any]] = {
        401: {"description": "no or invalid token"},
        403: {"description": "wrong role"},
        422: {"description": "invalid input"},
    }
    for router in API_ROUTERS:
        app.include_router(router, prefix="/api/v1", responses=api_responses)
    app.include_router(health.router)
    app.include_router(health.router, prefix="/api/v1")
    app.add_middleware(EventContextMiddleware)
    return app
