"""FastAPI's router, told which route the edge matched: one lookup instead of its walk.

FastAPI's router tries its routes in order on every request (`APIRouter.app`): each included
router (this app has ~50) rebuilds its version stamp and tries each route it holds, ~210 in
all, although the edge has matched the route once already (`api.http.routes.RouteTable`). Here
the router's entry point (`Router.middleware_stack`) is replaced by `DirectDispatch`, which,
when the edge's route serves the request's method, does for that route exactly what the
walk's winning step would do — the same scope keys, path parameters, telemetry call and the
route's own `handle` — and leaves everything else (no route, 404, 405 and its `Allow`,
`redirect_slashes`, mounts, routes the edge does not know) to the walk, unchanged.

This reaches into FastAPI internals (included routers are `_IncludedRouter`, a route as
included is an `_EffectiveRouteContext`, and the scope keys the route's `handle` reads).
`tests/unit/test_direct_dispatch.py` pins the behaviour against the walk, so an upgrade that
changes them fails there, loudly."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

from fastapi import FastAPI
from fastapi.routing import (
    _FASTAPI_EFFECTIVE_ROUTE_CONTEXT_KEY,
    _FASTAPI_INCLUDED_ROUTER_KEY,
    APIRoute,
    APIRouter,
    _apply_router_form_limits,
    _EffectiveRouteContext,
    _get_fastapi_scope,
    _IncludedRouter,
    _update_scope,
)
from fastapi.telemetry._api import _route_selected
from starlette import routing
from starlette.routing import BaseRoute, Match
from starlette.types import Receive, Scope, Send

log = logging.getLogger("ecovarejo.edge")


class Target:
    """One route, reachable without the walk. `dispatch` answers False (and leaves the scope
    as it found it) when the route does not fully match the request."""

    async def dispatch(self, scope: Scope, receive: Receive, send: Send) -> bool:
        raise NotImplementedError


class TopLevel(Target):
    """A route of the app's own router: the walk's loop body, for this route alone."""

    def __init__(self, route: BaseRoute):
        self.route = route
        self.mount = isinstance(route, routing.Mount)
        self.path_format = getattr(route, "path_format", None)

    async def dispatch(self, scope: Scope, receive: Receive, send: Send) -> bool:
        match, child_scope = self.route.matches(scope)
        if match != Match.FULL:
            return False
        _update_scope(scope, child_scope)
        _route_selected(scope=scope, path=self.path_format, mount=self.mount)
        await self.route.handle(scope, receive, send)
        return True


class Included(Target):
    """A FastAPI route of an included router (`chain`: the inclusions, outermost first): what
    each inclusion's `handle` and the innermost one's `_handle_selected` do once it is chosen."""

    def __init__(self, context: _EffectiveRouteContext, chain: tuple[_IncludedRouter, ...]):
        assert isinstance(context.original_route, APIRoute)
        self.context = context
        self.route = context.original_route
        self.innermost = chain[-1]
        self.form_limits = [i.include_context.form_limits for i in chain]

    async def dispatch(self, scope: Scope, receive: Receive, send: Send) -> bool:
        match, child_scope = self.context.matches(scope)
        if match != Match.FULL:
            return False
        for limits in self.form_limits:
            _apply_router_form_limits(scope, limits)
        fastapi_scope = _get_fastapi_scope(scope)
        fastapi_scope[_FASTAPI_INCLUDED_ROUTER_KEY] = self.innermost
        child_scope["route"] = self.route  # as `APIRoute.matches` adds it
        _update_scope(scope, child_scope)
        _route_selected(scope=scope, path=self.context.path_format)
        fastapi_scope[_FASTAPI_EFFECTIVE_ROUTE_CONTEXT_KEY] = self.context
        await self.route.handle(scope, receive, send)
        return True


def walk_order(router: APIRouter) -> Iterator[tuple[Any, Target | None]]:
    """Every route the walk tries, in its order, as (what to match it by — a thing with
    `path_regex`, `path_format`, `methods` and `name`, or None when it cannot be judged by
    path alone — and how to reach it directly, if it can be)."""
    for route in router.routes:
        if isinstance(route, _IncludedRouter):
            yield from _included(route, (route,))
        elif isinstance(route, APIRoute | routing.Route | routing.Mount):
            yield route, TopLevel(route)
        else:  # a websocket route, a host: the edge does not dispatch to it
            yield (route if getattr(route, "path_regex", None) is not None else None), None


def _included(
    included: _IncludedRouter, chain: tuple[_IncludedRouter, ...]
) -> Iterator[tuple[Any, Target | None]]:
    for candidate in included.effective_candidates():
        if isinstance(candidate, _IncludedRouter):
            yield from _included(candidate, (*chain, candidate))
        elif isinstance(candidate.original_route, APIRoute):
            yield candidate, Included(candidate, chain)
        else:  # a plain route or a mount as included: the walk wraps it; left to the walk
            yield candidate.starlette_route, None


class DirectDispatch:
    """The app router's entry point: the edge's route when it takes the request, else the
    walk. `target_of` reads the edge's route from the scope."""

    def __init__(self, router: APIRouter, target_of: Any):
        self.router = router
        self.walk = router.app
        self.target_of = target_of

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        target = self.target_of(scope) if scope["type"] == "http" else None
        if target is not None and not scope.get("root_path"):
            router = self.router
            _apply_router_form_limits(scope, router.form_limits)
            scope.setdefault("router", router)
            if await target.dispatch(scope, receive, send):
                return
        await self.walk(scope, receive, send)


def install(app: FastAPI, target_of: Any) -> bool:
    """Put `DirectDispatch` where the router's `__call__` looks; False (the walk stays) when
    the router wraps its entry point in middleware of its own, which must stay outermost."""
    router = app.router
    if router.middleware_stack != router.app:
        log.warning("the router has middleware of its own: FastAPI's walk stays")
        return False
    router.middleware_stack = DirectDispatch(router, target_of)
    return True
