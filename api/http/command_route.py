"""Command routes with one thread hand-off per request instead of two.

FastAPI runs a plain `def` endpoint in the thread pool, then hands its answer's validation
to the thread pool again (`serialize_response` for a sync endpoint): two hand-offs, ~90 µs
of CPU each (the queue, a worker thread's wake-up, the loop's wake-up), where a command's
answer (an id, a version, a consistency token) takes a few µs to validate. `CommandRoute`
gives FastAPI an `async` endpoint that runs the `def` endpoint in a thread itself (the
command threads of `api.http.command_threads`, not anyio's pool: half its cost), so the
answer is validated on the event loop, as for every `async` route. What the route declares
(its signature, name, docstring: FastAPI reads them through `__wrapped__`) and what it does
stay the same; reads keep FastAPI's handling (large answers are validated off the loop)."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Coroutine
from typing import Any

from fastapi.routing import APIRoute, _effective_route_context_var
from starlette.requests import Request
from starlette.responses import Response

from api.http.command_handler import command_handler
from api.http.command_threads import run_in_command_thread as run_in_threadpool

COMMAND_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def in_thread(endpoint: Callable[..., Any]) -> Callable[..., Any]:
    """`endpoint`, as a coroutine that runs it in a command thread (with the context:
    `api.http.command_threads`, leaner than anyio's pool)."""

    @functools.wraps(endpoint)
    async def threaded(*args: Any, **kwargs: Any) -> Any:
        return await run_in_threadpool(endpoint, *args, **kwargs)

    return threaded


def is_threaded_command(endpoint: Callable[..., Any], methods: Any) -> bool:
    """A `def` endpoint that only changes state: `CommandRoute` takes it."""
    return (
        bool(methods)
        and {m.upper() for m in methods} <= COMMAND_METHODS
        and inspect.isfunction(endpoint)
        and not inspect.iscoroutinefunction(endpoint)
        and not inspect.isgeneratorfunction(endpoint)
    )


class CommandRoute(APIRoute):
    """The route class of the API's routers (`APIRouter(route_class=CommandRoute)`)."""

    def __init__(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        self.threaded = is_threaded_command(endpoint, kwargs.get("methods"))
        if self.threaded:
            endpoint = in_thread(endpoint)
        super().__init__(path, endpoint, **kwargs)

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        """A command's handler solves its dependencies by a plan made once
        (`api.http.command_handler`); any other route keeps FastAPI's. FastAPI asks once
        for the route and once per inclusion (with that inclusion's dependencies)."""
        fallback = super().get_route_handler()
        if not self.threaded:
            return fallback
        context = _effective_route_context_var.get()
        route = context if context is not None and context.original_route is self else self
        return command_handler(route, fallback) or fallback
