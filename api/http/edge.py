"""The outer edge in one pure-ASGI layer: what every request passes first and every answer
passes last, done in one frame instead of five.

In order: the client's address behind trusted proxies; the route, matched ONCE and kept in
the scope (`route_of`) for metrics, logs, tracing, `Allow` and authorization; the event
context (correlation and request ids); then the rest of the app; on the way out, the
security headers and the ids; after the answer is sent, the metrics and the access log line
(the log's handler only queues it: see `api.http.access_log.configure_logging`)."""

from __future__ import annotations

import os
import random
import re
import time
from collections.abc import Iterable
from ipaddress import IPv4Network, IPv6Network, ip_address

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.http.access_log import log_request
from api.http.auth import known_principal
from api.http.idempotency import REPLAYED_HEADER
from api.http.metrics import EdgeMetrics
from api.http.middleware import API_CSP, DOCS_CSP, HSTS, SECURITY_HEADERS
from api.http.routes import ROUTE_KEY, UNMATCHED, RouteTable
from domain.base import EventMetadata, event_context

CORRELATION_PATTERN = r"^[A-Za-z0-9._:-]{1,100}$"  # a caller's X-Correlation-Id, kept as given
_CORRELATION = re.compile(CORRELATION_PATTERN)
_REPLAYED = REPLAYED_HEADER.encode()
_SECURITY = [(k.lower().encode(), v.encode()) for k, v in SECURITY_HEADERS.items()]
_NO_STORE = (b"cache-control", b"no-store")


class Edge:
    def __init__(
        self,
        app: ASGIApp,
        routes: RouteTable,
        metrics: EdgeMetrics,
        networks: Iterable[IPv4Network | IPv6Network] = (),
        docs_paths: Iterable[str] = (),
    ):
        self.app = app
        self.routes = routes
        self.metrics = metrics
        self.networks = tuple(networks)
        self.docs_paths = frozenset(p for p in docs_paths if p)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if self.networks:
            scope = self._forwarded(scope)
        method = scope["method"]
        route = self.routes.match(method, scope["path"])
        scope[ROUTE_KEY] = route
        correlation_id, request_id = _ids(scope)
        extra = self._headers(scope, correlation_id, request_id)
        started = time.perf_counter()
        status = 500
        replayed = False

        async def edge_send(message: Message) -> None:
            nonlocal status, replayed
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = message.setdefault("headers", [])
                present = {name.lower() for name, _ in headers}
                replayed = _REPLAYED in present
                headers.extend(h for h in extra if h[0] not in present)
            await send(message)

        metadata = EventMetadata(
            actor="anonymous", correlation_id=correlation_id, causation_id=f"request:{request_id}"
        )
        with event_context(metadata):
            try:
                await self.app(scope, receive, edge_send)
            finally:
                seconds = time.perf_counter() - started
                self.metrics.observe(method, route, status, seconds, replayed)
                principal = known_principal(scope)
                log_request(
                    method=method,
                    route=route.template if route else UNMATCHED,
                    status=status,
                    duration_s=seconds,
                    role=principal.role if principal else None,
                )

    def _headers(
        self, scope: Scope, correlation_id: str, request_id: str
    ) -> list[tuple[bytes, bytes]]:
        """Headers every answer carries (a route's own values win): security, no-store
        unless the route said otherwise, and the request's ids."""
        csp = DOCS_CSP if scope["path"] in self.docs_paths else API_CSP
        extra = [*_SECURITY, (b"content-security-policy", csp.encode()), _NO_STORE]
        if scope.get("scheme") == "https":
            extra.append((b"strict-transport-security", HSTS.encode()))
        extra.append((b"x-correlation-id", correlation_id.encode()))
        extra.append((b"x-request-id", request_id.encode()))
        return extra

    def _trusted(self, host: str) -> bool:
        try:
            address = ip_address(host.strip())
        except ValueError:
            return False
        return any(address in network for network in self.networks)

    def _forwarded(self, scope: Scope) -> Scope:
        """Only when the peer is a trusted proxy is `X-Forwarded-For` read, from the right,
        skipping trusted hops; the first untrusted address is the client (and
        `X-Forwarded-Proto` its scheme). Anyone else's forwarded headers are ignored, so
        they cannot pick the address the anonymous rate limit counts against."""
        client = scope.get("client")
        if not client or not self._trusted(client[0]):
            return scope
        headers = Headers(scope=scope)
        forwarded = headers.get("x-forwarded-for", "")
        hops = [h.strip() for h in forwarded.split(",") if h.strip()]
        host = client[0]
        while hops and self._trusted(host):
            host = hops.pop()
        if host == client[0]:
            return scope
        scope = {**scope, "client": (host, 0)}
        proto = headers.get("x-forwarded-proto", "").strip().lower()
        if proto in ("http", "https"):
            scope["scheme"] = proto
        return scope


# Ids name requests, they guard nothing: a generator seeded once from the OS, instead of an
# `os.urandom` system call per uuid4 (two a request, a measurable share of a small one).
_RANDOM = random.Random(os.urandom(32))


# RFC 4122's version 4 bits, as `uuid.UUID(int=..., version=4)` sets them: the variant
# (10xx in the clock_seq_hi byte) and the version (0100 in time_hi_version).
_UUID4_CLEAR = ~((0xC000 << 48) | (0xF000 << 64))
_UUID4_SET = (0x8000 << 48) | (0x4000 << 64)


def _new_id() -> str:
    """`str(uuid.UUID(int=n, version=4))` for the next 128 random bits, formatted without
    building a `UUID` (its constructor's checks and properties: ~3-5 µs a call here, two a
    request; this ~1 µs)."""
    digits = "%032x" % ((_RANDOM.getrandbits(128) & _UUID4_CLEAR) | _UUID4_SET)
    return f"{digits[:8]}-{digits[8:12]}-{digits[12:16]}-{digits[16:20]}-{digits[20:]}"


def _ids(scope: Scope) -> tuple[str, str]:
    """The caller's X-Correlation-ID when well formed (else a new one), and a request id."""
    given = ""
    for name, value in scope.get("headers") or ():
        if name == b"x-correlation-id":
            given = value.decode("latin-1")
            break
    correlation_id = given if _CORRELATION.match(given) else _new_id()
    return correlation_id, _new_id()
