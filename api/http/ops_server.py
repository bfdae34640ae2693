"""The operations listener (ECOVAREJO_METRICS_BIND=host:port): `/metrics`, `/ready` (with its
checks) and `/health` of the API process on an address of their own, without a token, for a
Prometheus on a private network. Nothing else is served there."""

from __future__ import annotations

import threading

import uvicorn
from fastapi import FastAPI

from api.http import metrics
from api.http.routers import health


def operations_app(main: FastAPI) -> FastAPI:
    """The main app's metrics registry and container, behind the operations routes only."""
    ops = FastAPI(openapi_url=None, docs_url=None, redoc_url=None)
    for name in ("container", "metrics", "verifier"):
        setattr(ops.state, name, getattr(main.state, name))
    ops.state.operations_only = True  # the address is the access control
    ops.include_router(health.router)
    ops.include_router(metrics.router)
    return ops


class OperationsServer:
    """uvicorn in a thread of its own (it installs no signal handlers off the main thread);
    `stop()` ends it when the API stops."""

    def __init__(self, main: FastAPI, bind: str):
        host, _, port = bind.rpartition(":")
        config = uvicorn.Config(
            operations_app(main),
            host=host.strip("[]"),
            port=int(port),
            log_config=None,
            access_log=False,
            proxy_headers=False,
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, name="operations", daemon=True)

    def start(self) -> OperationsServer:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(10)
