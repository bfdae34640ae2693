"""The second baseline of catalog reads: what a team would write by hand with FastAPI and
`redis.asyncio` — one async route that GETs the stored JSON document of a stock item,
`json.loads` it and returns it (FastAPI serializes the answer), no middleware, no auth, no
metrics (`python -m bench.serve --app bench.plain:create_plain_app`, REDIS_URL and
BENCH_PLAIN_KEY in the environment)."""

from __future__ import annotations

import json
import os
from typing import Any

import redis.asyncio as aioredis
from fastapi import FastAPI, HTTPException

PLAIN_PATH = "/plain"


def create_plain_app() -> FastAPI:
    app = FastAPI()
    client = aioredis.Redis.from_url(os.environ["REDIS_URL"])
    key = os.environ["BENCH_PLAIN_KEY"]

    @app.get(PLAIN_PATH)
    async def plain() -> dict[str, Any]:
        raw = await client.get(key)
        if raw is None:
            raise HTTPException(404)
        doc: dict[str, Any] = json.loads(raw)
        return doc

    @app.get("/health")
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    return app
