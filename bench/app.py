"""The bench-only app factory: the real app (`create_app` over a container bootstrapped
from the environment) plus one trivial route, the baseline served by the same process,
through the same middlewares. uvicorn imports it by name, so it runs in every worker:

    uvicorn bench.app:create_bench_app --factory --workers 2
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from pydantic import BaseModel

from api.http.app import create_app
from infrastructure.bootstrap import bootstrap
from infrastructure.settings import Settings

NOOP_PATH = "/bench/noop"


class NoopBody(BaseModel):
    quantity: int


def noop(body: NoopBody) -> dict[str, Any]:
    """As trivial as a route gets: parse a body, answer JSON (sync, like the commands)."""
    return {"ok": True, "quantity": body.quantity}


def create_bench_app() -> FastAPI:
    container = bootstrap(Settings())
    # BENCH_FAST=0: every request through the full pipeline, to show what the fast path buys
    app = create_app(container, fast_path=os.environ.get("BENCH_FAST", "1") != "0")
    app.add_api_route(NOOP_PATH, noop, methods=["POST"], include_in_schema=False)
    inner = app.router.lifespan_context

    @asynccontextmanager
    async def lifespan(application: Any) -> AsyncIterator[Any]:
        try:
            async with inner(application) as state:
                yield state
        finally:
            container.close()

    app.router.lifespan_context = lifespan
    return app
