"""Which route a request is for, before or after routing: the edge labels metrics and logs
with the route's template (never the raw path, which holds ids), rate-limits by group, and
FastAPI's router goes straight to it (`api.http.dispatch`)."""

from __future__ import annotations

import re
import threading
from collections.abc import MutableMapping
from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI

from api.http.dispatch import Target, walk_order

UNMATCHED = "unmatched"
RECENT_PATHS = 4096  # (method, path) pairs whose route is remembered
ROUTE_KEY = "ecovarejo.route"  # where the edge keeps the route it matched (api/http/edge.py)


@dataclass(frozen=True)
class RouteInfo:
    template: str
    name: str
    methods: frozenset[str]
    # How the router reaches the route without its walk (None: it walks).
    target: Target | None = field(default=None, compare=False, repr=False)


@dataclass(frozen=True)
class _Entry:
    regex: re.Pattern[str]
    info: RouteInfo


class RouteTable:
    """Every route of an app (included routers flattened) by its path regex. Built on first
    use, so routes added after the middleware was set up are known too."""

    def __init__(self, app: FastAPI):
        self._app = app
        self._entries: list[_Entry] | None = None
        self._lock = threading.Lock()
        self._recent: dict[tuple[str, str], RouteInfo | None] = {}
        # Whether the table sees every route the router's walk tries, so that the route it
        # matches is the walk's (else the router always walks).
        self.exact = True

    def _build(self) -> list[_Entry]:
        entries = []
        for route, target in walk_order(self._app.router):
            regex = getattr(route, "path_regex", None)
            template = getattr(route, "path_format", None)
            if regex is None or template is None:
                self.exact = False  # the walk may stop at a route the table cannot see
                continue
            methods = frozenset(getattr(route, "methods", None) or ())
            info = RouteInfo(template, getattr(route, "name", None) or "", methods, target)
            entries.append(_Entry(regex, info))
        return entries

    def entries(self) -> list[_Entry]:
        if self._entries is None:
            with self._lock:
                self._entries = self._entries or self._build()
        return self._entries

    def allowed(self, path: str) -> list[str]:
        """Every method some route serves on `path` (HEAD with GET, and OPTIONS), sorted."""
        methods: set[str] = set()
        for entry in self.entries():
            if entry.regex.match(path):
                methods |= entry.info.methods
        if "GET" in methods:
            methods.add("HEAD")
        return sorted(methods | {"OPTIONS"}) if methods else []

    def match(self, method: str, path: str) -> RouteInfo | None:
        """The route serving `method path`; for a path that only another method serves,
        that route (the request ends 405); None when no route has the path. Remembered
        for the paths asked most recently: the walk below tries every route's regex in
        turn (hundreds, with the console and the storefront), while the hot paths (a
        product, a search) come again and again."""
        key = (method, path)
        try:
            return self._recent[key]
        except KeyError:
            route = self._match(method, path)
        if len(self._recent) >= RECENT_PATHS:  # bounded: ids in paths make them endless
            self._recent.clear()
        self._recent[key] = route
        return route

    def _match(self, method: str, path: str) -> RouteInfo | None:
        partial = None
        for entry in self.entries():
            if entry.regex.match(path):
                if not entry.info.methods or method in entry.info.methods:
                    return entry.info
                partial = partial or entry.info
        return partial

    def target(self, scope: MutableMapping[str, Any]) -> Target | None:
        """Where the router goes for this request: the edge's route when it serves the
        method (a route matched for another method ends 405: the walk answers it)."""
        route = scope.get(ROUTE_KEY)
        if route is None or route.target is None or not self.exact:
            return None
        if route.methods and scope["method"] not in route.methods:
            return None
        target: Target = route.target
        return target


def route_of(scope: MutableMapping[str, Any]) -> RouteInfo | None:
    """The route the edge matched for this request, once (None: no route has the path)."""
    route = scope.get(ROUTE_KEY)
    return route if isinstance(route, RouteInfo) else None


def template_of(scope: MutableMapping[str, Any]) -> str:
    route = route_of(scope)
    return route.template if route else UNMATCHED
