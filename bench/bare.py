"""The baseline of catalog reads: a bare FastAPI app with one GET route answering a small
JSON document, no middleware, no I/O — what FastAPI and uvicorn cost by themselves on this
machine (`python -m bench.serve --app bench.bare:create_bare_app`)."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

BARE_PATH = "/bare"
DOC = {"sku": "ECO-1", "name": "Garrafa", "price": {"amount": "50.00", "currency": "BRL"}}


def create_bare_app() -> FastAPI:
    app = FastAPI()

    @app.get(BARE_PATH)
    async def bare() -> dict[str, Any]:
        return DOC

    @app.get("/health")
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    return app
